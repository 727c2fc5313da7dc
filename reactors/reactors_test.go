package reactors_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/reactors"
	"github.com/imagodb/imago/wal"
)

// recorder is a reactor's React that records what it got; fail makes the
// first attempts of a seq fail.
type recorder struct {
	mu    sync.Mutex
	got   []reactors.Delivery
	fail  func(d *reactors.Delivery) error
	react func(ctx context.Context, d *reactors.Delivery) error
	seen  chan uint64 // each seq handled, if not nil
}

func (r *recorder) React(ctx context.Context, d *reactors.Delivery) error {
	if r.fail != nil {
		if err := r.fail(d); err != nil {
			return err
		}
	}
	if r.react != nil {
		if err := r.react(ctx, d); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.got = append(r.got, *d)
	r.mu.Unlock()
	if r.seen != nil {
		r.seen <- d.Envelope.Seq
	}
	return nil
}

func (r *recorder) seqs() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for _, d := range r.got {
		out = append(out, d.Envelope.Seq)
	}
	return out
}

// waitFor waits until the reactor's cursor reaches seq.
func waitFor(t *testing.T, db *imago.DB, name string, seq uint64) reactors.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, st := range db.Reactors() {
			if st.Name == name && st.Cursor >= seq {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("reactor %s did not reach seq %d: %+v", name, seq, db.Reactors())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openReactors(t *testing.T, dir string, opts imago.Options, reactors ...reactors.Reactor) *imago.DB {
	t.Helper()
	opts.Reactors = reactors
	opts.ReactorMinBackoff, opts.ReactorMaxBackoff = time.Millisecond, 20*time.Millisecond
	db, err := imago.Open(dir, dictionary.App(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func set(t *testing.T, db *imago.DB, key, value string) uint64 {
	t.Helper()
	res, err := db.Submit(context.Background(), &dictionary.Set{Key: key, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	return res.Seq
}

// TestReactorDelivery: a reactor gets the durable commands it asked for,
// all and only those, in seq order, under concurrent writers; a restart
// resumes after its cursor, redelivering nothing it finished; Open's replay
// invokes no reactor.
func TestReactorDelivery(t *testing.T) {
	dir := t.TempDir()
	var db *imago.DB
	rec := &recorder{react: func(_ context.Context, d *reactors.Delivery) error {
		if durable := db.DurableSeq(); d.Envelope.Seq > durable {
			return fmt.Errorf("delivered seq %d before it was durable (durable %d)", d.Envelope.Seq, durable)
		}
		return nil
	}}
	before := openReactors(t, dir, imago.Options{})
	set(t, before, "history", "before the reactor existed")
	if err := before.Close(); err != nil {
		t.Fatal(err)
	}
	db = openReactors(t, dir, imago.Options{}, reactors.Reactor{Name: "sets", Commands: []string{"set"}, React: rec.React})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var want []uint64
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				var cmd commands.Command = &dictionary.Add{Key: "k", Value: "."}
				if i%2 == 0 {
					cmd = &dictionary.Set{Key: fmt.Sprint(w), Value: fmt.Sprint(i)}
				}
				res, err := db.Submit(context.Background(), cmd)
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					mu.Lock()
					want = append(want, res.Seq)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	st := waitFor(t, db, "sets", db.View().Seq)
	slices.Sort(want)
	if got := rec.seqs(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v,\nwant the sets in seq order %v", got, want)
	}
	if st.Lag != 0 || st.Delivered != uint64(len(want)) || st.LastError != "" {
		t.Fatalf("status %+v: want lag 0, %d delivered, no error", st, len(want))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart (a full replay: no checkpoint was asked for): nothing again.
	rec = &recorder{}
	db = openReactors(t, dir, imago.Options{}, reactors.Reactor{Name: "sets", Commands: []string{"set"}, React: rec.React})
	defer db.Close()
	if db.Recovery().Commands == 0 {
		t.Fatal("the restart replayed nothing; the test would not show that replay invokes no reactor")
	}
	next := set(t, db, "after", "restart")
	waitFor(t, db, "sets", next)
	if got := rec.seqs(); !slices.Equal(got, []uint64{next}) {
		t.Fatalf("after restart delivered %v, want only the new set %d", got, next)
	}
}

// TestReactorFromStart: a new reactor with FromStart gets the whole log;
// without, only what comes after it was registered.
func TestReactorFromStart(t *testing.T) {
	dir := t.TempDir()
	db := openReactors(t, dir, imago.Options{})
	first, second := set(t, db, "a", "1"), set(t, db, "b", "2")
	db.Close()
	all, recent := &recorder{}, &recorder{}
	db = openReactors(t, dir, imago.Options{},
		reactors.Reactor{Name: "all", Commands: []string{"set"}, React: all.React, FromStart: true},
		reactors.Reactor{Name: "recent", Commands: []string{"set"}, React: recent.React})
	defer db.Close()
	third := set(t, db, "c", "3")
	waitFor(t, db, "all", third)
	waitFor(t, db, "recent", third)
	if got := all.seqs(); !slices.Equal(got, []uint64{first, second, third}) {
		t.Fatalf("FromStart got %v", got)
	}
	if got := recent.seqs(); !slices.Equal(got, []uint64{third}) {
		t.Fatalf("a new reactor got %v, want only %d", got, third)
	}
}

// TestReactorRetries: a failing React is retried with the same delivery
// (Attempt counting up), the status shows the error meanwhile, later
// commands wait; commands it submits carry the cause and a derived key, so
// that the retry's submission is answered from the first and applies
// nothing twice.
func TestReactorRetries(t *testing.T) {
	dir := t.TempDir()
	release := make(chan struct{})
	var submitted []commands.Result
	var mu sync.Mutex
	rec := &recorder{react: func(ctx context.Context, d *reactors.Delivery) error {
		s := d.Command.(*dictionary.Set)
		res, err := d.Submit(ctx, &dictionary.Add{Key: "audit", Value: s.Key + ";"})
		if err != nil {
			return err
		}
		mu.Lock()
		submitted = append(submitted, res)
		mu.Unlock()
		if s.Key == "x" && d.Attempt < 3 {
			<-release
			return fmt.Errorf("attempt %d fails", d.Attempt)
		}
		return nil
	}}
	db := openReactors(t, dir, imago.Options{}, reactors.Reactor{Name: "audit", Commands: []string{"set"}, React: rec.React})
	defer db.Close()
	first := set(t, db, "x", "1")
	second := set(t, db, "y", "2")
	release <- struct{}{} // attempt 1 fails
	deadline := time.Now().Add(10 * time.Second)
	for st := db.Reactors()[0]; st.Failures == 0; st = db.Reactors()[0] {
		if time.Now().After(deadline) {
			t.Fatal("the failure does not show in the status")
		}
		time.Sleep(time.Millisecond)
	}
	st := db.Reactors()[0]
	if !strings.Contains(st.LastError, "attempt 1 fails") || st.LastErrorTime.IsZero() || st.Cursor >= first {
		t.Fatalf("status after a failure: %+v", st)
	}
	close(release)
	st = waitFor(t, db, "audit", second)
	if st.Failures != 0 || !strings.Contains(st.LastError, "attempt 2 fails") {
		t.Fatalf("status after recovery: %+v (want failures 0, the last error kept)", st)
	}
	if got := rec.seqs(); !slices.Equal(got, []uint64{first, second}) {
		t.Fatalf("handled %v", got)
	}
	entry, _, err := dictionary.Entries.Get(db.View().Snapshot, "audit")
	if err != nil || entry.Value != "x;y;" {
		t.Fatalf("audit = %q (%v): want each set's add applied once", entry.Value, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(submitted) != 4 || !submitted[1].Replayed || !submitted[2].Replayed || submitted[3].Replayed ||
		submitted[1].Seq != submitted[0].Seq || submitted[2].Seq != submitted[0].Seq {
		t.Fatalf("submissions %+v: want the first and its two retries answered from it, then the second set's", submitted)
	}
	checkCaused(t, db, map[uint64]uint64{submitted[0].Seq: first, submitted[3].Seq: second}, "reactor:audit")
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}

// checkCaused checks that the log's entries caused (seq -> cause) name
// their cause and actor, and that no other entry has a cause.
func checkCaused(t *testing.T, db *imago.DB, caused map[uint64]uint64, actor string) {
	t.Helper()
	n := 0
	err := db.Log().Read(1, db.View().Seq, func(e wal.Entry) error {
		env, err := envelope.Decode(e.Seq, e.Data)
		if err != nil || env.Cause == "" {
			return err
		}
		n++
		if cause, ok := caused[env.Seq]; !ok || env.Cause != fmt.Sprint(cause) || env.Actor != actor {
			return fmt.Errorf("seq %d: cause %q actor %q; want caused %v by %s", env.Seq, env.Cause, env.Actor, caused, actor)
		}
		if want := fmt.Sprintf("reactor:%s:%s:1", strings.TrimPrefix(actor, "reactor:"), env.Cause); env.ID != want {
			return fmt.Errorf("seq %d: idempotency key %q, want %q", env.Seq, env.ID, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(caused) {
		t.Fatalf("%d entries have a cause, want %d", n, len(caused))
	}
}

// TestReactorHoldsBackTruncation: log truncation keeps what a reactor has
// yet to get, and a reactor whose commands were truncated while it was not
// registered makes Open refuse to start.
func TestReactorHoldsBackTruncation(t *testing.T) {
	dir := t.TempDir()
	opts := imago.Options{TruncateLog: true, CheckpointsKeep: 1}
	block := make(chan struct{})
	rec := &recorder{react: func(ctx context.Context, _ *reactors.Delivery) error {
		select {
		case <-block:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	db := openReactors(t, dir, opts, reactors.Reactor{Name: "slow", Commands: []string{"set"}, React: rec.React})
	stuck := set(t, db, "a", "1")
	set(t, db, "b", "2")
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if got := db.Log().FirstSeq(); got != stuck {
		t.Fatalf("log begins at %d, want %d: the reactor has yet to get it", got, stuck)
	}
	close(block)
	last := set(t, db, "c", "3")
	waitFor(t, db, "slow", last)
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if got := db.Log().FirstSeq(); got != last+1 {
		t.Fatalf("log begins at %d, want %d once the reactor caught up", got, last+1)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Without the reactor, truncation passes its cursor; with it, no start.
	db = openReactors(t, dir, opts)
	set(t, db, "d", "4")
	set(t, db, "e", "5")
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := imago.Open(dir, dictionary.App(), imago.Options{Reactors: []reactors.Reactor{{Name: "slow", Commands: []string{"set"}, React: rec.React}}})
	if err == nil || !strings.Contains(err.Error(), `reactor "slow"`) || !strings.Contains(err.Error(), "truncation") {
		t.Fatalf("Open with a reactor behind the log's start: %v", err)
	}
}

// TestReactorRegistration: a reactor Open cannot run is refused, naming it.
func TestReactorRegistration(t *testing.T) {
	react := func(context.Context, *reactors.Delivery) error { return nil }
	for _, tc := range []struct {
		reactors []reactors.Reactor
		want     string
	}{
		{[]reactors.Reactor{{Name: "Bad Name", Commands: []string{"set"}, React: react}}, "name is 1 to 64"},
		{[]reactors.Reactor{{Name: "r", Commands: []string{"nope"}, React: react}}, `"nope"`},
		{[]reactors.Reactor{{Name: "r", Commands: []string{"set"}}}, "needs React"},
		{[]reactors.Reactor{{Name: "r", React: react}}, "at least one command"},
		{[]reactors.Reactor{{Name: "r", Commands: []string{"set"}, React: react}, {Name: "r", Commands: []string{"add"}, React: react}}, "registered twice"},
	} {
		_, err := imago.Open(t.TempDir(), dictionary.App(), imago.Options{Reactors: tc.reactors})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error with %q", tc.reactors, err, tc.want)
		}
	}
}
