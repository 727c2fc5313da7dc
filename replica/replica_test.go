package replica_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/replica"
	"github.com/imagodb/imago/server"
)

// applied counts Apply calls in this process: a noisy set stores it, so
// that the primary and a replica (both in this process) store different
// values for the same command: a nondeterministic Apply.
var applied atomic.Int64

type noisySet struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (*noisySet) Validate() error { return nil }
func (c *noisySet) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	return (&dictionary.Set{Key: c.Key, Value: fmt.Sprint(c.Value, applied.Add(1))}).Apply(tx, env)
}

// noisyDictionary is the dictionary with a set that is not deterministic.
func noisyDictionary() *imago.App {
	app := dictionary.App()
	app.Commands = []commands.Definition{commands.Define[noisySet]("set", 1), commands.Define[dictionary.Add]("add", 1)}
	return app
}

func config(t testing.TB, app *imago.App) server.Config {
	return server.Config{
		App: app, Data: filepath.Join(t.TempDir(), "data"), Logger: slog.New(slog.DiscardHandler),
		HTTPAddr: "127.0.0.1:0", MySQLAddr: "127.0.0.1:0", MySQLUser: "root",
		CheckpointsKeep: 3, CheckpointShare: 1, IdempotencyWindow: time.Hour,
	}
}

// run starts a server and runs it until the test ends.
func run(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// TestDivergenceIsDetected: a replica compares its image with the
// primary's at each checkpoint seq the primary announces: equal for a
// deterministic app; for a nondeterministic one the replica stops there,
// saying where, and its readiness fails.
func TestDivergenceIsDetected(t *testing.T) {
	for _, c := range []struct {
		name     string
		app      func() *imago.App
		set      func(key string) commands.Command
		diverges bool
	}{
		{"deterministic", dictionary.App, func(k string) commands.Command { return &dictionary.Set{Key: k, Value: "v"} }, false},
		{"nondeterministic", noisyDictionary, func(k string) commands.Command { return &noisySet{Key: k, Value: "v"} }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			primary := run(t, config(t, c.app()))
			rcfg := config(t, c.app())
			rcfg.ReplicaOf = "http://" + primary.HTTPAddr()
			rsrv := run(t, rcfg)
			follower := rsrv.Replica()
			ctx := context.Background()
			for i := range 5 {
				if _, err := primary.DB().Submit(ctx, c.set(fmt.Sprint("k", i))); err != nil {
					t.Fatal(err)
				}
			}
			info, err := primary.DB().Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := primary.DB().Submit(ctx, &dictionary.Add{Key: "k0", Value: "+"}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				st := follower.Status()
				if st.Verified == info.Seq && !c.diverges {
					return
				}
				if st.Diverged != nil {
					if !c.diverges {
						t.Fatalf("a deterministic replica diverged: %v", st.Diverged)
					}
					if st.Diverged.At != info.Seq {
						t.Fatalf("diverged %+v; want found at seq %d", st.Diverged, info.Seq)
					}
					resp, err := http.Get("http://" + rsrv.HTTPAddr() + "/readyz")
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusServiceUnavailable {
						t.Fatalf("a diverged replica's /readyz: %s, want 503", resp.Status)
					}
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Fatalf("no verdict within 30 s: %+v", follower.Status())
		})
	}
}

// TestRebootstrapAfterTruncation: a replica away longer than the primary's
// slot TTL, while the primary truncated its log past the replica's seq,
// gets 410 when it returns, sets its data aside, bootstraps again from the
// newest checkpoint and catches up.
func TestRebootstrapAfterTruncation(t *testing.T) {
	pcfg := config(t, dictionary.App())
	pcfg.TruncateLog, pcfg.CheckpointsKeep, pcfg.ReplicaSlotTTL = true, 1, 50*time.Millisecond
	primary := run(t, pcfg)
	ctx := context.Background()
	set := func(from, to int) { setKeys(t, primary, from, to) }
	set(0, 10)
	rcfg := config(t, dictionary.App())
	rcfg.ReplicaOf, rcfg.ReplicaName = "http://"+primary.HTTPAddr(), "r1"
	rs, err := server.Start(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rs.Run(rctx) }()
	waitSeq(t, rs.Replica(), 10)
	stop()
	<-done

	// Away: the primary notices the closed stream and the slot expires;
	// then it truncates past seq 10.
	for deadline := time.Now().Add(30 * time.Second); len(primary.DB().ReplicaSlots()) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replica's slot outlived its TTL: %+v", primary.DB().ReplicaSlots())
		}
	}
	set(10, 20)
	if _, err := primary.DB().Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if first := primary.DB().Log().FirstSeq(); first <= 11 {
		t.Fatalf("the primary's log begins at %d: truncation did not pass the replica", first)
	}
	set(20, 25)

	back := run(t, rcfg)
	waitSeq(t, back.Replica(), primary.DB().View().Seq)
	if st := back.Replica().Status(); st.Bootstraps != 1 {
		t.Fatalf("status %+v: want one bootstrap in the returning process", st)
	}
	aside, _ := filepath.Glob(filepath.Join(rcfg.Data, "set-aside-*"))
	if len(aside) != 1 {
		t.Fatalf("set aside: %v, want the old data in one directory", aside)
	}
	ph, _ := primary.DB().View().Snapshot.Hash()
	rh, _ := back.DB().View().Snapshot.Hash()
	if ph != rh {
		t.Fatal("after the new bootstrap the replica's image differs from the primary's")
	}
}

// setKeys sets the keys k<from>..k<to-1> on the primary s.
func setKeys(t *testing.T, s *server.Server, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := s.DB().Submit(context.Background(), &dictionary.Set{Key: fmt.Sprint("k", i), Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSeq waits until the replica applied seq.
func waitSeq(t *testing.T, r *replica.Replica, seq uint64) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); r.DB().View().Seq < seq; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replica applied %d, not %d: %+v", r.DB().View().Seq, seq, r.Status())
		}
	}
}

// TestReplayNeverCancelsAQuery: a transaction open on a replica keeps
// reading the snapshot it began with while the replica applies the
// primary's newer entries, without an error; the next one reads them.
func TestReplayNeverCancelsAQuery(t *testing.T) {
	primary := run(t, config(t, dictionary.App()))
	rcfg := config(t, dictionary.App())
	rcfg.ReplicaOf = "http://" + primary.HTTPAddr()
	rs := run(t, rcfg)
	set := func(from, to int) { setKeys(t, primary, from, to) }
	set(0, 10)
	waitSeq(t, rs.Replica(), 10)
	conn, err := gosql.Open("mysql", "root@tcp("+rs.MySQLAddr()+")/dictionary")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	count := func(q interface {
		QueryRow(string, ...any) *gosql.Row
	}) int {
		t.Helper()
		var n int
		if err := q.QueryRow("SELECT COUNT(*) FROM entries").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tx, err := conn.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if n := count(tx); n != 10 {
		t.Fatalf("the replica at seq 10 counts %d entries", n)
	}
	set(10, 30)
	waitSeq(t, rs.Replica(), 30)
	if n := count(tx); n != 10 {
		t.Fatalf("a transaction begun at seq 10 counts %d entries after the replica applied seq 30, want its snapshot's 10", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count(conn); n != 30 {
		t.Fatalf("after the transaction the replica counts %d entries, want 30", n)
	}
}
