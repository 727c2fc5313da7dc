package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/examples/shop"
)

// TestSlowBody replays the slow-body attack: a client sends the headers and
// part of the body, then nothing. The handler answers 408 once
// BodyTimeout has passed and the server closes the connection, instead of
// holding a goroutine for as long as the client likes; a body that arrives
// in time is applied.
func TestSlowBody(t *testing.T) {
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const timeout = 300 * time.Millisecond
	h, err := api.NewHandler(db, api.Config{BodyTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	var closed atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	const product = `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`
	cases := []struct {
		name, path, body string
		sent             int           // bytes of body sent before the pause
		pause            time.Duration // then the rest, if the server still reads
		status           int
		want             string
	}{
		{"command trickled", "/v1/commands/add_product", product, 10, time.Hour, 408, "the body did not arrive within 300ms"},
		{"batch trickled", "/v1/commands", `[{"name":"add_product","body":` + product + `}]`, 30, time.Hour, 408, "the body did not arrive within 300ms"},
		{"only the headers", "/v1/commands/add_product", product, 0, time.Hour, 408, "did not arrive"},
		{"a short pause", "/v1/commands/add_product", product, 10, timeout / 6, 200, `"seq":1`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := closed.Load()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// Taken before the request is sent: the handler's deadline starts
			// once it has the headers, never before this.
			start := time.Now()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", c.path, len(c.body), c.body[:c.sent])
			go func() {
				time.Sleep(c.pause)
				io.WriteString(conn, c.body[c.sent:])
			}()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) {
				t.Fatalf("%d %s; want %d containing %q", resp.StatusCode, b, c.status, c.want)
			}
			if c.status != 408 {
				return
			}
			if took := time.Since(start); took < timeout || took > timeout+5*time.Second {
				t.Errorf("answered after %v; want just after %v", took, timeout)
			}
			for deadline := time.Now().Add(5 * time.Second); closed.Load() == before; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the server kept the connection of a slow body open")
				}
			}
		})
	}
	if seq := db.Log().LastSeq(); seq != 1 {
		t.Fatalf("last seq %d, want 1", seq)
	}
}

// TestIdempotencyKeyNotUTF8: a key header in invalid UTF-8, or given twice,
// is a 400 naming the header (it was a 422 refused, after the key had
// become U+FFFD and passed the API's checks).
func TestIdempotencyKeyNotUTF8(t *testing.T) {
	db, srv := newServer(t)
	for _, c := range []struct {
		name string
		keys []string
		want string
	}{
		{"invalid UTF-8", []string{"key-\xff"}, `header Idempotency-Key: "key-\\xff" is not valid UTF-8`},
		{"twice", []string{"a", "b"}, "header Idempotency-Key: given 2 times"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/v1/commands/add_product", strings.NewReader(`{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header["Idempotency-Key"] = c.keys
			resp, body := request{}.send(t, req)
			if resp.StatusCode != 400 || !strings.Contains(body, `"code":"malformed_request"`) || !strings.Contains(body, c.want) {
				t.Fatalf("%d %s; want 400 malformed_request containing %q", resp.StatusCode, body, c.want)
			}
		})
	}
	if seq := db.Log().LastSeq(); seq != 0 {
		t.Fatalf("last seq %d, want 0", seq)
	}
}
