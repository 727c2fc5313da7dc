package server

import (
	"bufio"
	"context"
	gosql "database/sql"
	"net/http"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago/examples/dictionary"
)

// replicaRow is a row of imago.replicas.
type replicaRow struct {
	name, state   string
	sent, lag     uint64
	lagMs         int64
	since, seenAt time.Time
}

// TestReplicasTable: imago.replicas on a primary shows a replica's stream
// (GET /v1/log?format=raw with Imago-Replica) as streaming with no lag,
// and once it left, the commands it was not sent and how long ago the
// oldest of them was accepted.
func TestReplicasTable(t *testing.T) {
	s, err := Start(config(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	set := func(key string) {
		if _, err := s.DB().Submit(context.Background(), &dictionary.Set{Key: key, Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	set("a")
	set("b")
	sqldb, err := gosql.Open("mysql", "root@tcp("+s.MySQLAddr()+")/imago?parseTime=true")
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	read := func() (r replicaRow) {
		t.Helper()
		err := sqldb.QueryRow("SELECT name, state, sent_seq, lag_commands, lag_ms, connected_since, last_seen FROM replicas").
			Scan(&r.name, &r.state, &r.sent, &r.lag, &r.lagMs, &r.since, &r.seenAt)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// waitFor polls imago.replicas until ok: the stream's handler notices
	// an open or closed connection on its own goroutine.
	waitFor := func(what string, ok func(replicaRow) bool) replicaRow {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var n int
			if err := sqldb.QueryRow("SELECT COUNT(*) FROM replicas").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				if r := read(); ok(r) {
					return r
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("imago.replicas never showed %s", what)
			}
		}
	}

	streamCtx, closeStream := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, "http://"+s.HTTPAddr()+"/v1/log?format=raw&follow=true&from=1", nil)
	req.Header.Set("Imago-Replica", "r1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	in := bufio.NewReader(resp.Body)
	for range 2 { // both entries, as a replica reads them
		if _, err := in.ReadBytes('\n'); err != nil {
			t.Fatal(err)
		}
	}
	r := waitFor("r1 sent seq 2", func(r replicaRow) bool { return r.sent == 2 })
	if r.name != "r1" || r.state != "streaming" || r.lag != 0 || r.lagMs != 0 {
		t.Fatalf("a replica sent everything: %+v, want r1 streaming with no lag", r)
	}
	closeStream()
	resp.Body.Close()
	waitFor("r1 disconnected", func(r replicaRow) bool { return r.state == "disconnected" })

	before := time.Now()
	set("c")
	set("d")
	after := time.Now()
	r = read()
	readAt := time.Now()
	// lag_ms is the age of seq 3, accepted between before and after.
	if r.sent != 2 || r.lag != 2 || r.lagMs < readAt.Sub(after).Milliseconds() || r.lagMs > time.Since(before).Milliseconds() {
		t.Fatalf("a replica away while seqs 3 and 4 were written: %+v; want sent 2, lag 2 commands and %d..%d ms",
			r, readAt.Sub(after).Milliseconds(), time.Since(before).Milliseconds())
	}
}
