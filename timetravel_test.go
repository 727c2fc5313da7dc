package imago_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
)

// stepClock is a clock that advances a millisecond at each reading.
func stepClock() func() time.Time {
	var n atomic.Int64
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Millisecond) }
}

// recordStates runs n commands of the shop's workload one at a time and
// records the live image's hash after every few.
func recordStates(t *testing.T, db *imago.DB, n int, hashes map[uint64][32]byte) {
	t.Helper()
	g := workload.New("tt", 7, 50, 30)
	for i := range n {
		db.Submit(context.Background(), g.Next()) // refusals are part of the mix
		if i%17 == 0 {
			v := db.View()
			h, err := v.Snapshot.Hash()
			if err != nil {
				t.Fatal(err)
			}
			hashes[v.Seq] = h
		}
	}
}

// checkStates: every recorded state rebuilt as of its seq has its hash.
func checkStates(t *testing.T, db *imago.DB, hashes map[uint64][32]byte) {
	t.Helper()
	for seq, want := range hashes {
		v, err := db.ViewAt(context.Background(), seq)
		if err != nil {
			t.Fatalf("as of %d: %v", seq, err)
		}
		got, err := v.Snapshot.Hash()
		if err != nil {
			t.Fatal(err)
		}
		if v.Seq != seq || got != want {
			t.Fatalf("as of %d: got the state at %d with hash %x, want %x", seq, v.Seq, got[:6], want[:6])
		}
	}
}

// TestAsOfEqualsRecordedStates: the state rebuilt at each seq equals the
// live image recorded at that seq, from the ladder, the cache, a
// checkpoint and the empty image, before and after a restart; times
// resolve to the last seq accepted at or before them.
func TestAsOfEqualsRecordedStates(t *testing.T) {
	dir := t.TempDir()
	opts := imago.Options{Now: stepClock(), AsOfCacheBytes: 1 << 20}
	db, err := imago.Open(dir, shop.App(), opts)
	if err != nil {
		t.Fatal(err)
	}
	submitAll(t, db, workload.Setup(50, 30))
	hashes := map[uint64][32]byte{}
	h0, _ := db.ViewAt(context.Background(), 0)
	if h0.Seq != 0 || h0.Snapshot.Count(db.Tables()[0]) != 0 {
		t.Fatalf("as of 0: seq %d, %d rows", h0.Seq, h0.Snapshot.Count(db.Tables()[0]))
	}
	recordStates(t, db, 600, hashes)
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	recordStates(t, db, 600, hashes)
	checkStates(t, db, hashes)
	st := db.AsOfStats()
	if st.Builds == 0 || st.CacheBytes > st.CacheLimit && st.CachedStates > 1 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("before restart: %+v", st)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = imago.Open(dir, shop.App(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkStates(t, db, hashes)
	t.Logf("after restart: %+v", db.AsOfStats())

	// Times: the state at a command's time is the state after it.
	durable := db.DurableSeq()
	for _, seq := range []uint64{1, 2, 77, durable / 2, durable - 1, durable} {
		var at time.Time
		db.Envelopes().Read(seq, seq, func(env envelope.Envelope) error { at = env.Time; return nil })
		for _, tm := range []time.Time{at, at.Add(500 * time.Microsecond)} {
			got, err := db.SeqAt(tm)
			if err != nil || got != seq {
				t.Fatalf("seq at %s (time of seq %d): %d, %v", tm, seq, got, err)
			}
		}
		if seq > 1 {
			if got, _ := db.SeqAt(at.Add(-time.Microsecond)); got != seq-1 {
				t.Fatalf("seq just before the time of seq %d: %d", seq, got)
			}
		}
	}

	// Edges name what is reachable.
	for _, c := range []struct {
		err  func() error
		want string
	}{
		{func() error { _, err := db.ViewAt(context.Background(), durable+1); return err }, "beyond the durable log"},
		{func() error { _, err := db.SeqAt(time.Now().Add(time.Hour)); return err }, "in the future"},
		{func() error { _, err := db.SeqAt(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); return err }, "before the first command"},
	} {
		err := c.err()
		var ue *imago.UnreachableError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "reachable") {
			t.Fatalf("want %q naming what is reachable, got %v", c.want, err)
		}
		t.Log(err)
	}
}

// TestAsOfBuildsOnce: concurrent requests for one point build it once.
func TestAsOfBuildsOnce(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, shop.App())
	submitAll(t, db, workload.Setup(50, 30))
	recordStates(t, db, 300, map[uint64][32]byte{})
	db.Close()
	db = open(t, dir, shop.App()) // an empty ladder and cache
	defer db.Close()
	before := db.AsOfStats().Builds
	var wg sync.WaitGroup
	views := make([]uint64, 8)
	for i := range views {
		wg.Go(func() {
			v, err := db.ViewAt(context.Background(), 200)
			if err != nil {
				t.Error(err)
				return
			}
			views[i] = v.Seq
		})
	}
	wg.Wait()
	if got := db.AsOfStats().Builds - before; got != 1 {
		t.Fatalf("%d builds for 8 concurrent requests of one point", got)
	}
	// A canceled request gives up waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.ViewAt(ctx, 100); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

// TestAsOfTruncatedLog: a point before a truncated log's start is refused
// naming the reachable seqs; the points from the checkpoint on are built.
func TestAsOfTruncatedLog(t *testing.T) {
	dir := t.TempDir()
	db, err := imago.Open(dir, shop.App(), imago.Options{TruncateLog: true, CheckpointsKeep: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	submitAll(t, db, workload.Setup(50, 30))
	hashes := map[uint64][32]byte{}
	recordStates(t, db, 300, hashes)
	info, err := db.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	after := map[uint64][32]byte{}
	recordStates(t, db, 300, after)
	_, err = db.ViewAt(context.Background(), 5)
	if err == nil || !strings.Contains(err.Error(), "truncated") || !strings.Contains(err.Error(), "reachable states are seq "+itoa(info.Seq)) {
		t.Fatalf("before the truncated start: %v", err)
	}
	t.Log(err)
	checkStates(t, db, after)
}

func itoa(n uint64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}
