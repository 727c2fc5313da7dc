package replica_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
