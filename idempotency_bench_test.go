package imago_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/writer"
)

// BenchmarkIdempotencyKeyMemory: the heap a remembered Idempotency-Key
// holds. 40,000 dictionary sets over 1,000 entries, each with its own key
// of 30 characters, against the same sets without keys, in one run; the
// difference per key is reported live and after a restart (the keys
// rebuilt by replay). The live figure also holds what the recent
// snapshots kept for time travel (the ladder) retain of the buckets they
// saw rewritten: with 40,000 keyed writes in a few seconds, that is most
// of them; the restarted figure is what the keys themselves cost. The key's own bytes: 30, its result, seq, body hash
// (32) and two times.
func BenchmarkIdempotencyKeyMemory(b *testing.B) {
	const sets, entries = 40_000, 1_000
	for range b.N {
		var live, restarted [2]uint64
		var took [2]time.Duration
		for i, keyed := range []bool{false, true} {
			dir := b.TempDir()
			db, err := imago.Open(dir, dictionary.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			submitSets(b, db, sets, entries, keyed)
			took[i] = time.Since(start)
			live[i] = liveHeap()
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			db, err = imago.Open(dir, dictionary.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}})
			if err != nil {
				b.Fatal(err)
			}
			restarted[i] = liveHeap()
			runtime.KeepAlive(db.View())
			db.Close()
		}
		b.ReportMetric(float64(int64(live[1])-int64(live[0]))/sets, "heap-B/key")
		b.ReportMetric(float64(int64(restarted[1])-int64(restarted[0]))/sets, "heap-B/key-restarted")
		b.ReportMetric(float64(took[0].Nanoseconds())/sets, "ns/set")
		b.ReportMetric(float64(took[1].Nanoseconds())/sets, "ns/keyed-set")
	}
}

// submitSets submits n sets over entries keys of the dictionary, in
// batches, each with an Idempotency-Key of 30 characters when keyed.
func submitSets(b *testing.B, db *imago.DB, n, entries int, keyed bool) {
	const batch = 500
	for first := 0; first < n; first += batch {
		cmds := make([]commands.Command, batch)
		metas := make([]commands.Meta, batch)
		for i := range cmds {
			k := first + i
			cmds[i] = &dictionary.Set{Key: fmt.Sprint("entry-", k%entries), Value: fmt.Sprint("value-", k)}
			if keyed {
				metas[i].ID = fmt.Sprintf("client-7f3a-request-%010d", k)
			}
		}
		for _, out := range db.SubmitAll(context.Background(), cmds, metas) {
			if out.Err != nil {
				b.Fatal(out.Err)
			}
		}
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
