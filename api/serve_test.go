package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestParseHead: the loop serves only what it fully understands; anything
// else is nil, for net/http.
func TestParseHead(t *testing.T) {
	ok := "POST /v1/commands/set HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 12\r\n"
	for _, tc := range []struct {
		name   string
		head   string
		served bool
	}{
		{"a command", ok, true},
		{"a batch", strings.Replace(ok, "/v1/commands/set", "/v1/commands", 1), true},
		{"keep-alive", ok + "Connection: keep-alive\r\n", true},
		{"close", ok + "Connection: Close\r\n", true},
		{"an unknown header", ok + "X-Trace: abc\r\n", true},
		{"GET", strings.Replace(ok, "POST", "GET", 1), false},
		{"HTTP/1.0", strings.Replace(ok, "HTTP/1.1", "HTTP/1.0", 1), false},
		{"a query", strings.Replace(ok, "/set", "/set?dry_run=true", 1), false},
		{"an escape", strings.Replace(ok, "/set", "/s%65t", 1), false},
		{"a deeper path", strings.Replace(ok, "/set", "/set/x", 1), false},
		{"a dot name", strings.Replace(ok, "/set", "/..", 1), false},
		{"another path", strings.Replace(ok, "/v1/commands/set", "/v1/log", 1), false},
		{"no Content-Length", strings.Replace(ok, "Content-Length: 12\r\n", "", 1), false},
		{"two Content-Lengths", ok + "Content-Length: 12\r\n", false},
		{"a signed Content-Length", strings.Replace(ok, ": 12", ": +12", 1), false},
		{"a negative Content-Length", strings.Replace(ok, ": 12", ": -1", 1), false},
		{"Transfer-Encoding", ok + "Transfer-Encoding: chunked\r\n", false},
		{"Expect", ok + "Expect: 100-continue\r\n", false},
		{"Connection: upgrade", ok + "Connection: upgrade\r\n", false},
		{"no Host", strings.Replace(ok, "Host: localhost\r\n", "", 1), false},
		{"two Hosts", ok + "Host: other\r\n", false},
		{"a space in Host", strings.Replace(ok, "localhost", "local host", 1), false},
		{"a slash in Host", strings.Replace(ok, "localhost", "local/host", 1), false},
		{"a folded line", ok + "X-A: b\r\n c\r\n", false},
		{"a space before the colon", ok + "X-A : b\r\n", false},
		{"a control character", ok + "X-A: b\x01c\r\n", false},
		{"a bare LF", ok + "X-A: b\nX-B: c\r\n", false},
		{"no colon", ok + "X-A\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := parseHead([]byte(tc.head + "\r\n"))
			if (req != nil) != tc.served {
				t.Fatalf("served %v, want %v", req != nil, tc.served)
			}
			if req == nil {
				return
			}
			if req.host != "localhost" || req.contentLength != 12 || req.header.Get("Content-Type") != "application/json" || req.header.Get("Host") != "" {
				t.Errorf("parsed %+v", req)
			}
			if want := strings.Contains(tc.head, "Close"); req.close != want {
				t.Errorf("close %v, want %v", req.close, want)
			}
		})
	}
}

// startServer serves handler through Server on a loopback port.
func startServer(t *testing.T, handler http.Handler) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(handler, Config{BodyTimeout: 300 * time.Millisecond}, &http.Server{ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: time.Minute})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("Serve: %v, want http.ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String()
}

// echo answers with what the handler saw, and which server read it.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, viaLoop := w.(*bufferedResponse)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Evil", "a\r\nInjected: yes")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "%s %s host=%s loop=%v body=%s auth=%s", r.Method, r.URL.RequestURI(), r.Host, viaLoop, body, r.Header.Get("Authorization"))
}

// TestServerOneConnection: on one keep-alive connection, pipelined
// command requests are answered by the loop in order; a request it does
// not serve, and every request after it, by net/http, with the bytes the
// loop had read; a Connection: close is honoured.
func TestServerOneConnection(t *testing.T) {
	_, addr := startServer(t, http.HandlerFunc(echo))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	post := func(target, body, extra string) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s", target, len(body), extra, body)
	}
	// Two requests in one write (pipelined), then a GET, then a command
	// again (net/http's now), then a close.
	if _, err := io.WriteString(c, post("/v1/commands/a", `{"n":1}`, "")+post("/v1/commands", `[2]`, "")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	read := func(wantBody string) *http.Response {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusAccepted || string(body) != wantBody {
			t.Fatalf("answer %d %q, want 202 %q", resp.StatusCode, body, wantBody)
		}
		if resp.Header.Get("Injected") != "" || resp.Header.Get("Date") == "" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("header %v", resp.Header)
		}
		return resp
	}
	read(`POST /v1/commands/a host=localhost loop=true body={"n":1} auth=Bearer x`)
	read(`POST /v1/commands host=localhost loop=true body=[2] auth=Bearer x`)
	io.WriteString(c, "GET /v1/log?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
	read(`GET /v1/log?x=1 host=localhost loop=false body= auth=`)
	io.WriteString(c, post("/v1/commands/b", `{}`, "Connection: close\r\n"))
	if resp := read(`POST /v1/commands/b host=localhost loop=false body={} auth=Bearer x`); !resp.Close {
		t.Error("no Connection: close")
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close: %v, want EOF", err)
	}

	// The loop's own close.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, post("/v1/commands/c", `{}`, "Connection: close\r\n"))
	c, r = c2, bufio.NewReader(c2)
	if resp := read(`POST /v1/commands/c host=localhost loop=true body={} auth=Bearer x`); !resp.Close {
		t.Error("no Connection: close")
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close: %v, want EOF", err)
	}
}

// TestServerSlowBody: a body that does not arrive within BodyTimeout is
// answered 408 and the connection closed, as the handler answers under
// net/http; a header that does not, closed.
func TestServerSlowBody(t *testing.T) {
	_, addr := startServer(t, http.HandlerFunc(echo))
	for _, tc := range []struct {
		name, send, want string
	}{
		{"body", "POST /v1/commands/a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n{", "HTTP/1.1 408 "},
		{"header", "POST /v1/commands/a HTTP/1.1\r\nHost: local", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, tc.send)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("read: %v (the server did not close)", err)
			}
			if !strings.HasPrefix(string(got), tc.want) {
				t.Errorf("got %q, want %q...", got, tc.want)
			}
		})
	}
}

// TestServerPanic: a handler's panic ends its connection, not the server.
func TestServerPanic(t *testing.T) {
	_, addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/commands/panic" {
			panic("a bug")
		}
		echo(w, r)
	}))
	client := &http.Client{Timeout: 5 * time.Second}
	if _, err := client.Post("http://"+addr+"/v1/commands/panic", "application/json", strings.NewReader("{}")); err == nil {
		t.Fatal("an answer from a panicking handler")
	}
	resp, err := client.Post("http://"+addr+"/v1/commands/ok", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after a panic: %s", resp.Status)
	}
}

// TestServerShutdown: Shutdown waits for a request in flight, which is
// answered (with Connection: close), and closes idle connections.
func TestServerShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s, addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/commands/slow" {
			close(entered)
			<-release
		}
		echo(w, r)
	}))
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Post("http://"+addr+"/v1/commands/slow", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Error(err)
			close(answered)
			return
		}
		answered <- resp
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- s.Shutdown(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if resp := <-answered; resp == nil || resp.StatusCode != http.StatusAccepted || !resp.Close {
		t.Fatalf("the request in flight: %+v", resp)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("an idle connection after Shutdown: %v, want EOF", err)
	}
}

// FuzzParseHead: a header section the loop serves is one net/http reads
// the same way: the same method, target, Host, Content-Length and header
// values; and parseHead never panics.
func FuzzParseHead(f *testing.F) {
	f.Add("POST /v1/commands/set HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n")
	f.Add("POST /v1/commands HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\nX-A: \tb \r\n\r\n")
	f.Add("POST /v1/commands/a HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\nX-A: b\r\n c\r\n\r\n")
	f.Add("POST /v1/commands/a HTTP/1.1\r\nHost: a b\r\nContent-Length: 1\r\n\r\n")
	f.Fuzz(func(t *testing.T, head string) {
		req := parseHead([]byte(head))
		if req == nil || !strings.HasSuffix(head, "\r\n\r\n") || strings.Count(head, "\r\n\r\n") != 1 {
			return
		}
		std, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head + strings.Repeat("x", int(min(req.contentLength, 1<<16))))))
		if err != nil {
			t.Fatalf("the loop serves what net/http refuses (%v): %q", err, head)
		}
		if std.Method != http.MethodPost || std.RequestURI != req.target || std.Host != req.host || std.ContentLength != req.contentLength || std.Close != req.close {
			t.Fatalf("net/http reads %s %s host %q length %d close %v; the loop %s host %q length %d close %v",
				std.Method, std.RequestURI, std.Host, std.ContentLength, std.Close, req.target, req.host, req.contentLength, req.close)
		}
		for k, vs := range req.header {
			if k == "Connection" {
				continue // net/http keeps it too, but may fold "keep-alive" lists
			}
			if got := std.Header[k]; strings.Join(got, "\x00") != strings.Join(vs, "\x00") {
				t.Fatalf("header %s: net/http %q, the loop %q", k, got, vs)
			}
		}
	})
}
