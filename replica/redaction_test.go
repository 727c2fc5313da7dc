package replica_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/internal/ondisk"
	"github.com/imagodb/imago/redaction"
)

// holding lists the files under dir holding s.
func holding(t *testing.T, dir, s string) []string {
	t.Helper()
	found, err := ondisk.Holding(dir, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestRedactionReachesReplicas: a customer is redacted on a running
// primary through POST /v1/admin/redact while a real replica follows it.
// The replica hears the new redaction epoch in a heartbeat, removes its
// copy (which held the values) and bootstraps again; afterwards no file
// of either data directory holds the values, and the replica's image
// shows the marker.
func TestRedactionReachesReplicas(t *testing.T) {
	const name, email = "Hw3Kc9Vb5Tq1Jx8M", "hw3kc9vb5tq1@example.org"
	pcfg := config(t, shop.App())
	primary := run(t, pcfg)
	ctx := context.Background()
	for _, c := range workload.Setup(20, 10) {
		if _, err := primary.DB().Submit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	register := primary.DB().View().Seq + 1
	if _, err := primary.DB().Submit(ctx, &shop.RegisterCustomer{CustomerID: "grace", Name: name, Email: email, Country: "ZZ"}); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.DB().Checkpoint(); err != nil {
		t.Fatal(err)
	}
	g := workload.New("r", 1, 20, 10)
	for range 100 {
		primary.DB().Submit(ctx, g.Next())
	}
	rcfg := config(t, shop.App())
	rcfg.ReplicaOf = "http://" + primary.HTTPAddr()
	rsrv := run(t, rcfg)
	follower := rsrv.Replica()
	caughtUp := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !(follower.DB().View().Seq == primary.DB().View().Seq && ok()) {
			if time.Now().After(deadline) {
				t.Fatalf("the replica did not %s: at seq %d of %d, %+v", what, follower.DB().View().Seq, primary.DB().View().Seq, follower.Status())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	caughtUp("catch up", func() bool { return true })
	// The replica's bootstrap checkpoint holds the name (compressed); its
	// log, the entries after it. A redacted entry after the checkpoint
	// makes the log's copy greppable:
	if _, err := primary.DB().Submit(ctx, &shop.RegisterCustomer{CustomerID: "heidi", Name: name + "-h", Email: "h." + email, Country: "ZZ"}); err != nil {
		t.Fatal(err)
	}
	caughtUp("catch up", func() bool { return true })
	if len(holding(t, rcfg.Data, name+"-h")) == 0 {
		t.Fatal("the replica's files do not hold the name before the redaction: the test proves nothing")
	}

	post := func(body string) (int, []byte) {
		resp, err := http.Post("http://"+primary.HTTPAddr()+"/v1/admin/redact", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// A redaction the proof refuses: 422, nothing written, nothing told.
	if status, b := post(`{"seqs":[` + itoa(register) + `],"fields":["customer_id"],"reason":"test"}`); status != http.StatusUnprocessableEntity || !strings.Contains(string(b), "redaction_refused") {
		t.Fatalf("redacting the key: %d %s", status, b)
	}
	if status, b := post(`{"fields":["name"],"reason":"no entries"}`); status != http.StatusBadRequest {
		t.Fatalf("no entries: %d %s", status, b)
	}
	status, b := post(`{"where":{"field":"country","value":"ZZ"},"fields":["name","email"],"reason":"erasure request 17"}`)
	if status != http.StatusOK {
		t.Fatalf("redact: %d %s", status, b)
	}
	var rec struct {
		Epoch uint64
		Actor string
		Seqs  []uint64
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.Epoch != 1 || rec.Actor != "anonymous" || len(rec.Seqs) != 2 {
		t.Fatalf("record: %s %v", b, err)
	}
	// The DB is replaced once the new copy opens: wait for grace redacted.
	caughtUp("bootstrap again", func() bool {
		c, _, _ := shop.Customers.Get(follower.DB().View().Snapshot, "grace")
		return c.Name == redaction.Marker(register)
	})
	if st := follower.Status(); st.Bootstraps != 2 {
		t.Fatalf("replica: %+v", st)
	}
	for _, s := range []string{name, email} {
		for _, dir := range []string{pcfg.Data, rcfg.Data} {
			if found := holding(t, dir, s); len(found) > 0 {
				t.Fatalf("%q is still on disk, in %v", s, found)
			}
		}
	}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// flakyPrimary is a real primary behind an HTTP proxy that can refuse: a
// refused request's connection is closed without an answer, as an
// unreachable primary's would be. Requests under way (the replica's log
// stream) go on.
type flakyPrimary struct {
	refusing atomic.Bool
	refused  atomic.Int64
	srv      *httptest.Server
}

func newFlakyPrimary(t *testing.T, primaryAddr string) *flakyPrimary {
	target, err := url.Parse("http://" + primaryAddr)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // the log stream's lines as they come
	f := &flakyPrimary{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if f.refusing.Load() {
			f.refused.Add(1)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// lockedBuffer is a log the replica writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRebootstrapWaitsForThePrimary: a replica told of a redaction removes
// its copy and bootstraps again; when the primary does not answer then,
// it retries with backoff (logged, and shown in its status) instead of
// staying closed, and bootstraps once the primary answers again.
func TestRebootstrapWaitsForThePrimary(t *testing.T) {
	const name = "Qz7Lm2Xw9Rt4Kp1V"
	pcfg := config(t, shop.App())
	primary := run(t, pcfg)
	ctx := context.Background()
	for _, c := range workload.Setup(20, 10) {
		if _, err := primary.DB().Submit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	register := primary.DB().View().Seq + 1
	if _, err := primary.DB().Submit(ctx, &shop.RegisterCustomer{CustomerID: "ivan", Name: name, Email: "ivan@example.org", Country: "ZZ"}); err != nil {
		t.Fatal(err)
	}
	flaky := newFlakyPrimary(t, primary.HTTPAddr())
	logs := &lockedBuffer{}
	rcfg := config(t, shop.App())
	rcfg.ReplicaOf = flaky.srv.URL
	rcfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	rsrv := run(t, rcfg)
	follower := rsrv.Replica()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("the replica did not %s: %+v", what, follower.Status())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("catch up", func() bool { return follower.DB().View().Seq == primary.DB().View().Seq })

	// The primary goes away for new requests; the stream already open
	// brings the next heartbeat, with the new redaction epoch.
	flaky.refusing.Store(true)
	if _, err := primary.DB().Redact(ctx, imago.Redaction{Selection: redaction.Selection{Seqs: []uint64{register}, Fields: []string{"name"}},
		Actor: "dpo", Reason: "erasure request"}); err != nil {
		t.Fatal(err)
	}
	waitFor("retry its bootstrap", func() bool {
		return flaky.refused.Load() >= 3 && follower.Status().State == "waiting to bootstrap again"
	})
	if n := strings.Count(logs.String(), "replica cannot bootstrap again from its primary; retrying"); n < 2 {
		t.Fatalf("%d retries logged:\n%s", n, logs.String())
	}
	flaky.refusing.Store(false)
	waitFor("bootstrap again once the primary answers", func() bool {
		c, _, _ := shop.Customers.Get(follower.DB().View().Snapshot, "ivan")
		return c.Name == redaction.Marker(register) && follower.DB().View().Seq == primary.DB().View().Seq
	})
	if st := follower.Status(); st.Bootstraps != 2 {
		t.Fatalf("replica: %+v", st)
	}
	if found := holding(t, rcfg.Data, name); len(found) > 0 {
		t.Fatalf("%q is still on the replica's disk, in %v", name, found)
	}
	// It follows again: a command after the bootstrap reaches it.
	if _, err := primary.DB().Submit(ctx, &shop.RegisterCustomer{CustomerID: "judy", Name: "Judy", Email: "judy@example.org", Country: "DE"}); err != nil {
		t.Fatal(err)
	}
	waitFor("follow after the bootstrap", func() bool { return follower.DB().View().Seq == primary.DB().View().Seq })
}
