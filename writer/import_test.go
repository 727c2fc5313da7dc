package writer_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
)

// history is a small shop history of another system: a product, a
// customer, an order and its payment, a day apart, with original ids and
// actors.
func history(start time.Time) []commands.Import {
	day := 24 * time.Hour
	return []commands.Import{
		{Command: &shop.AddProduct{SKU: "mug", Name: "Mug", Category: "kitchen", PriceCents: 1250, Stock: 10}, Time: start, Meta: commands.Meta{ID: "old-1", Actor: "catalogue"}},
		{Command: &shop.RegisterCustomer{CustomerID: "ada", Name: "Ada", Email: "ada@example.com", Country: "GB"}, Time: start.Add(day), Meta: commands.Meta{ID: "old-2"}},
		{Command: &shop.PlaceOrder{OrderID: "o-1", CustomerID: "ada", Lines: []shop.OrderItem{{SKU: "mug", Quantity: 2}}}, Time: start.Add(2 * day), Meta: commands.Meta{ID: "old-3", Actor: "web"}},
		{Command: &shop.PayOrder{OrderID: "o-1", AmountCents: 2500}, Time: start.Add(2*day + time.Hour), Meta: commands.Meta{ID: "old-4", Actor: "psp", Cause: "old-3"}},
	}
}

// TestImport: an import of history keeps its times, actors and ids, is
// recorded as imported, applies as live commands do and replays to the same
// image; the next import may not go before it, and a live command follows.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db, err := imago.Open(dir, shop.App(), imago.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Date(2025, 1, 6, 9, 30, 0, 123456000, time.UTC)
	items := history(start)
	res, err := db.Import(ctx, items, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || res[0].Seq != 1 || res[3].Seq != 4 {
		t.Fatalf("results %+v", res)
	}
	if placed, ok := res[2].Value.(map[string]any); !ok || placed["total_cents"] != int64(2500) {
		t.Errorf("place_order's result %#v, want its total 2500", res[2].Value)
	}
	var logged []envelope.Envelope
	if err := db.Envelopes().Read(1, 4, func(env envelope.Envelope) error { logged = append(logged, env); return nil }); err != nil {
		t.Fatal(err)
	}
	for i, env := range logged {
		wantActor := items[i].Meta.Actor
		if wantActor == "" {
			wantActor = "admin"
		}
		if !env.Time.Equal(items[i].Time) || env.ID != items[i].Meta.ID || env.Actor != wantActor ||
			env.Cause != items[i].Meta.Cause || env.ImportedBy != "admin" || !env.KeyExpires.IsZero() {
			t.Errorf("seq %d: %+v, want the original time %v, id %q, actor %q, imported by admin", env.Seq, env, items[i].Time, items[i].Meta.ID, wantActor)
		}
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}

	// The next import continues the log: not before its last entry.
	again := history(start.Add(time.Hour))
	_, err = db.Import(ctx, again, "admin")
	var ie *commands.ImportError
	var te *commands.TimeError
	if !errors.As(err, &ie) || ie.Item != 0 || !errors.As(err, &te) || !strings.Contains(err.Error(), "before the log's last entry (seq 4") {
		t.Fatalf("an import before the log's last entry: %v", err)
	}
	// A live command after it is stamped by the clock.
	live, err := db.Submit(ctx, &shop.Restock{SKU: "mug", Quantity: 1})
	if err != nil || live.Seq != 5 {
		t.Fatalf("live command after the import: %+v %v", live, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A restart sees the same history, and refuses an import before the
	// live command too.
	db, err = imago.Open(dir, shop.App(), imago.Options{Now: func() time.Time { return clock.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	late := []commands.Import{{Command: &shop.Restock{SKU: "mug", Quantity: 1}, Time: clock.Add(-time.Second)}}
	if _, err := db.Import(ctx, late, "admin"); err == nil || !strings.Contains(err.Error(), "before the log's last entry (seq 5") {
		t.Fatalf("an import before the restarted log's last entry: %v", err)
	}
}

// TestImportRefusals: an import with one bad item applies nothing, and its
// error names the item and what is wrong with it.
func TestImportRefusals(t *testing.T) {
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	start := time.Date(2025, 1, 6, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		mend   func([]commands.Import) []commands.Import
		item   int
		target any // the wrapped error's type
		says   string
	}{
		{"refused by Apply", func(h []commands.Import) []commands.Import {
			h[3].Command = &shop.PayOrder{OrderID: "o-1", AmountCents: 2400}
			return h
		}, 3, new(*commands.RefusedError), "does not equal the total"},
		{"invalid", func(h []commands.Import) []commands.Import {
			h[1].Command = &shop.RegisterCustomer{CustomerID: "ada", Name: "Ada", Email: "not an email", Country: "GB"}
			return h
		}, 1, new(*commands.InvalidError), "email"},
		{"time goes backwards", func(h []commands.Import) []commands.Import {
			h[2].Time = start.Add(time.Hour)
			return h
		}, 2, new(*commands.TimeError), "times must not go backwards"},
		{"time in the future", func(h []commands.Import) []commands.Import {
			h[3].Time = clock.Add(time.Second)
			return h
		}, 3, new(*commands.TimeError), "after the clock"},
		{"no time", func(h []commands.Import) []commands.Import {
			h[0].Time = time.Time{}
			return h
		}, 0, new(*commands.TimeError), "is missing"},
		{"nanoseconds", func(h []commands.Import) []commands.Import {
			h[1].Time = h[1].Time.Add(1)
			return h
		}, 1, new(*commands.TimeError), "finer than a microsecond"},
		{"bad id", func(h []commands.Import) []commands.Import {
			h[2].Meta.ID = "tab\there"
			return h
		}, 2, new(*commands.InvalidError), "id: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			before, _ := db.View().Snapshot.Hash()
			_, err = db.Import(context.Background(), c.mend(history(start)), "admin")
			var ie *commands.ImportError
			if !errors.As(err, &ie) || ie.Item != c.item || !errors.As(err, c.target) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want item %d refused with %T saying %q", err, c.item, c.target, c.says)
			}
			if !strings.Contains(err.Error(), "nothing of the import was applied") {
				t.Errorf("the error does not say nothing was applied: %v", err)
			}
			after, _ := db.View().Snapshot.Hash()
			if db.View().Seq != 0 || db.Log().LastSeq() != 0 || after != before {
				t.Errorf("a refused import changed something: seq %d, log %d", db.View().Seq, db.Log().LastSeq())
			}
		})
	}
}

// TestImportIsOneBatch: live commands submitted while an import is applied
// never come between its commands.
func TestImportIsOneBatch(t *testing.T) {
	// One instant for all: live commands stamped at it, imports at it.
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Submit(ctx, &shop.AddProduct{SKU: "pen", Name: "Pen", Category: "office", PriceCents: 100, Stock: 10}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.Submit(ctx, &shop.Restock{SKU: "pen", Quantity: 1}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for round := range 20 {
		var items []commands.Import
		for i := range 50 {
			items = append(items, commands.Import{Command: &shop.ChangePrice{SKU: "pen", PriceCents: int64(100 + i)}, Time: at})
		}
		res, err := db.Import(ctx, items, "admin")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i := range res {
			if res[i].Seq != res[0].Seq+uint64(i) {
				t.Fatalf("round %d: the import's seqs %d..%d are not consecutive", round, res[0].Seq, res[len(res)-1].Seq)
			}
		}
	}
	close(stop)
	wg.Wait()
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}
