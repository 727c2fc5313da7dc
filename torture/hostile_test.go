package torture

import (
	"bufio"
	"context"
	gosql "database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHostileClients replays the attack's hostile inputs against one server
// (durability none: nothing here is about the disk). Each must be refused
// without hurting the server or other clients:
//   - 200 MySQL sockets that never authenticate (more than the 151
//     connections allowed) do not lock root out;
//   - WHERE order_id IN (100,000 literals) and 100,000 chained NOTs are
//     refused quickly, and the server goes on answering;
//   - SELECT LENGTH(REPEAT('x', 2000000000)) is NULL (MySQL's answer past
//     max_allowed_packet) without the server's RSS growing by gigabytes;
//   - a cross-site POST (Content-Type text/plain, a foreign Origin) and a
//     DNS-rebinding GET (a foreign Host) are refused and change nothing;
//   - JSON with duplicate names, names in another case and invalid UTF-8
//     is a 400, not a command;
//   - a body or headers trickled a byte a second are cut off.
func TestHostileClients(t *testing.T) {
	need(t)
	p := start(t, t.TempDir(), "--durability", "none")
	setup(t, p.httpAddr, "s")
	// The slow clients take a while to be cut off: they run meanwhile.
	slow := map[string]chan string{"body": make(chan string, 1), "headers": make(chan string, 1)}
	go func() { slow["body"] <- trickle(p.httpAddr, true) }()
	go func() { slow["headers"] <- trickle(p.httpAddr, false) }()

	// First, alone: the RSS figure must be the query's.
	t.Run("sql-repeat-2e9", func(t *testing.T) {
		rss := procStatus(t, p, "VmRSS")
		var n gosql.NullInt64
		began := time.Now()
		err := sqlDB(t, p.sqlAddr).QueryRow("SELECT LENGTH(REPEAT('x', 2000000000))").Scan(&n)
		hwm := procStatus(t, p, "VmHWM")
		t.Logf("REPEAT 2e9: %v, value %v, in %v; RSS %d MiB before, peak %d MiB after", err, n, time.Since(began).Round(time.Millisecond), rss>>20, hwm>>20)
		if err != nil || n.Valid {
			t.Errorf("SELECT LENGTH(REPEAT('x',2000000000)): %v, %v; want NULL (past max_allowed_packet)", n, err)
		}
		if hwm-rss > 1<<30 {
			t.Errorf("SELECT LENGTH(REPEAT('x',2000000000)) raised the server's peak RSS by %d MiB (from %d MiB): one query must not take gigabytes", (hwm-rss)>>20, rss>>20)
		}
	})
	t.Run("mysql-unauthenticated-sockets", func(t *testing.T) {
		var socks []net.Conn
		defer func() {
			for _, c := range socks {
				c.Close()
			}
		}()
		for range 200 {
			c, err := net.DialTimeout("tcp", p.sqlAddr, 10*time.Second)
			if err != nil {
				t.Logf("socket %d: %v", len(socks), err)
				break
			}
			socks = append(socks, c) // never answers the handshake
		}
		time.Sleep(time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		began := time.Now()
		var one int
		db, _ := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/shop?timeout=30s&readTimeout=30s")
		defer db.Close()
		err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		t.Logf("%d silent sockets open; root logs in and selects: %v in %v", len(socks), err, time.Since(began).Round(time.Millisecond))
		if err != nil {
			t.Errorf("with %d MySQL sockets that never authenticate, root cannot log in: %v", len(socks), err)
		}
	})
	for _, c := range []struct {
		name, query string
	}{
		{"sql-in-100k", "SELECT COUNT(*) FROM orders WHERE order_id IN (" + list(100000, func(i int) string { return fmt.Sprintf("'o-%d'", i) }) + ")"},
		{"sql-100k-not", "SELECT " + strings.Repeat("NOT ", 100000) + "1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			rss := procStatus(t, p, "VmRSS")
			began := time.Now()
			rows, err := sqlDB(t, p.sqlAddr).QueryContext(ctx, c.query)
			if err == nil {
				rows.Close()
			}
			took := time.Since(began)
			t.Logf("%d bytes of SQL: %v in %v; peak RSS %d MiB (from %d MiB)", len(c.query), firstLine(err), took.Round(time.Millisecond), procStatus(t, p, "VmHWM")>>20, rss>>20)
			if err == nil {
				t.Errorf("%s was run (in %v); want it refused", c.name, took)
			} else if took > 30*time.Second {
				t.Errorf("%s was refused only after %v; want it refused quickly", c.name, took)
			}
			var one int
			if err := sqlDB(t, p.sqlAddr).QueryRow("SELECT 1").Scan(&one); err != nil {
				t.Fatalf("the server no longer answers after %s: %v\n%s", c.name, err, lastLines(p.output(), 5))
			}
		})
	}
	t.Run("csrf", func(t *testing.T) {
		seq := lastSeqOf(t, p)
		req, _ := http.NewRequest("POST", "http://"+p.httpAddr+"/v1/commands/restock", strings.NewReader(`{"sku":"sku-00000","quantity":1}`))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", "https://attacker.example")
		status, body := do(t, req)
		if status < 400 || status >= 500 {
			t.Errorf("a cross-site POST (text/plain, Origin https://attacker.example) answered %d %s; want it refused (403 or 415)", status, body)
		}
		if now := lastSeqOf(t, p); now != seq {
			t.Errorf("a cross-site POST changed the log: seq %d -> %d", seq, now)
		}
	})
	t.Run("dns-rebinding", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+p.httpAddr+"/v1/log?last=5", nil)
		req.Host = "rebind.attacker.example"
		status, body := do(t, req)
		if status < 400 || status >= 500 {
			t.Errorf("GET /v1/log with Host rebind.attacker.example answered %d (%d bytes of log); want it refused (421)", status, len(body))
		}
	})
	for _, c := range []struct{ name, body string }{
		{"duplicate-name", `{"sku":"no-such-sku","sku":"sku-00000","quantity":1}`},
		{"case-folded-name", `{"SKU":"sku-00000","Quantity":1}`},
		{"invalid-utf8", "{\"sku\":\"sku-00000\xff\",\"quantity\":1}"},
	} {
		t.Run("json-"+c.name, func(t *testing.T) {
			seq := lastSeqOf(t, p)
			req, _ := http.NewRequest("POST", "http://"+p.httpAddr+"/v1/commands/restock", strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			status, body := do(t, req)
			if status != 400 {
				t.Errorf("restock with %s %q answered %d %s; want 400", c.name, c.body, status, body)
			}
			if now := lastSeqOf(t, p); now != seq {
				t.Errorf("restock with %s changed the log: seq %d -> %d", c.name, seq, now)
			}
		})
	}
	for _, what := range []string{"body", "headers"} {
		t.Run("slow-"+what, func(t *testing.T) {
			if msg := <-slow[what]; msg != "" {
				t.Error(msg)
			}
		})
	}
}

// trickle sends a request a byte a second, the body (after whole headers)
// or the headers themselves, and returns "" once the server cut it off, or
// why it did not within slowDeadline.
func trickle(addr string, body bool) string {
	const slowDeadline = time.Minute
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	head := "POST /v1/commands/restock HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
	slow := strings.Repeat(" ", 100000)
	if body {
		if _, err := io.WriteString(c, head); err != nil {
			return err.Error()
		}
	} else {
		slow = head
	}
	closed := make(chan time.Duration, 1)
	began := time.Now()
	go func() {
		bufio.NewReader(c).ReadByte() // an answer (408, 400) or the close
		closed <- time.Since(began)
	}()
	for i := 0; i < len(slow); i++ {
		select {
		case <-closed:
			return ""
		case <-time.After(time.Second):
		}
		if time.Since(began) > slowDeadline {
			return fmt.Sprintf("a request whose %s arrives a byte a second was still open after %v: the server must cut slow clients off", map[bool]string{true: "body", false: "headers"}[body], slowDeadline)
		}
		if _, err := c.Write([]byte{slow[i]}); err != nil {
			return ""
		}
	}
	return ""
}

func list(n int, f func(int) string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f(i))
	}
	return b.String()
}

// procStatus is a size field of /proc/<pid>/status (VmRSS, VmHWM) in bytes.
func procStatus(t *testing.T, p *proc, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, p.cmd.Process.Pid)
	return 0
}

// lastSeqOf is imago.status last_seq.
func lastSeqOf(t *testing.T, p *proc) uint64 {
	t.Helper()
	var v string
	if err := sqlDB(t, p.sqlAddr).QueryRow("SELECT value FROM imago.status WHERE name = 'last_seq'").Scan(&v); err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

// do sends req and returns its status and (the start of) its body.
func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func firstLine(err error) string {
	if err == nil {
		return "no error"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
