package writer_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
)

// TestIdempotency: a key is applied once. Retries get the original seq and
// result and change nothing, also when many race; another body under the
// key is a conflict; the keys survive a restart by replay and by checkpoint;
// and they expire by envelope time, the same way on replay.
func TestIdempotency(t *testing.T) {
	dir := t.TempDir()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	opts := imago.Options{Now: now, IdempotencyWindow: time.Hour}
	db, err := imago.Open(dir, shop.App(), opts)
	if err != nil {
		t.Fatal(err)
	}
	submitAll(t, db, workload.Setup(3, 3))
	restock := &shop.Restock{SKU: workload.SKU(0), Quantity: 7}
	keyed := func(db *imago.DB, key string, cmd commands.Command) (commands.Result, error) {
		return db.SubmitMeta(context.Background(), cmd, commands.Meta{ID: key})
	}
	first, err := keyed(db, "k1", restock)
	if err != nil || first.Replayed {
		t.Fatalf("first: %+v %v", first, err)
	}
	stock := func(db *imago.DB) int64 {
		p, _, _ := shop.Products.Get(db.View().Snapshot, workload.SKU(0))
		return p.Stock
	}
	before, last := stock(db), db.View().Seq

	// Many retries at once: one effect, every answer the original's.
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			res, err := keyed(db, "k1", &shop.Restock{SKU: workload.SKU(0), Quantity: 7})
			if err != nil || !res.Replayed || res.Seq != first.Seq {
				t.Errorf("retry: %+v %v, want the original seq %d", res, err, first.Seq)
			}
		})
	}
	wg.Wait()
	// A fresh key raced by many: exactly one applies it.
	var applied atomic.Int32
	for range 16 {
		wg.Go(func() {
			res, err := keyed(db, "k2", &shop.Restock{SKU: workload.SKU(1), Quantity: 1})
			if err != nil {
				t.Error(err)
			} else if !res.Replayed {
				applied.Add(1)
			}
		})
	}
	wg.Wait()
	if applied.Load() != 1 || stock(db) != before || db.View().Seq != last+1 {
		t.Fatalf("k2 applied %d times; stock %d (want %d), seq %d (want %d)", applied.Load(), stock(db), before, db.View().Seq, last+1)
	}
	var conflict *commands.ConflictError
	if _, err := keyed(db, "k1", &shop.Restock{SKU: workload.SKU(0), Quantity: 8}); !errors.As(err, &conflict) || conflict.Seq != first.Seq {
		t.Fatalf("another body under k1: %v", err)
	}
	if _, err := keyed(db, string(make([]byte, commands.MaxKeyLength+1)), restock); err == nil {
		t.Fatal("an over-long key was accepted")
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}

	// After a restart (by replay, then by checkpoint) the keys still hold.
	retry := func(db *imago.DB) {
		t.Helper()
		res, err := keyed(db, "k1", restock)
		if err != nil || !res.Replayed || res.Seq != first.Seq {
			t.Fatalf("retry after restart: %+v %v", res, err)
		}
	}
	for _, checkpoint := range []bool{false, true} {
		if checkpoint {
			if _, err := db.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		if db, err = imago.Open(dir, shop.App(), opts); err != nil {
			t.Fatal(err)
		}
		if checkpoint && db.Restored().Seq == 0 {
			t.Fatal("not restored from the checkpoint")
		}
		retry(db)
	}

	// An hour later by the envelope clock, the key is forgotten: a command
	// with it applies again, also after a replay.
	clock.Add(int64(time.Hour + time.Second))
	again, err := keyed(db, "k1", restock)
	if err != nil || again.Replayed || again.Seq == first.Seq {
		t.Fatalf("after the window: %+v %v", again, err)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func submitAll(t *testing.T, db *imago.DB, cmds []commands.Command) {
	t.Helper()
	for _, c := range cmds {
		if _, err := db.Submit(context.Background(), c); err != nil {
			t.Fatalf("%T: %v", c, err)
		}
	}
}
