package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/demo"
	"github.com/imagodb/imago/memdb"
)

// TestTimeline: a plan's history imports whole into a shop with its times
// (every command accepted, in time order), and spans its period with what
// date queries look for: every month, growth, a December peak, busier
// weekends, customers ordering only once registered, recent orders not yet
// shipped.
func TestTimeline(t *testing.T) {
	end := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	plan := demo.New(demo.Options{Customers: 300, Products: 40, Orders: 4000, Seed: 5, Prefix: "t", End: end})
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{Now: func() time.Time { return end }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var batch []commands.Import
	var last time.Time
	flush := func() {
		if _, err := db.Import(context.Background(), batch, "demo"); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for cmd, at := range plan.Timeline() {
		if at.Before(last) || at.Before(plan.Start) || at.After(end) {
			t.Fatalf("%T at %v after %v (period %v to %v)", cmd, at, last, plan.Start, end)
		}
		last = at
		if batch = append(batch, commands.Import{Command: cmd, Time: at}); len(batch) == 1000 {
			flush()
		}
	}
	flush()
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}

	snap := db.View().Snapshot
	registered := map[string]time.Time{}
	for _, c := range all(t, snap, shop.Customers) {
		registered[c.CustomerID] = c.RegisteredAt
	}
	byMonth := map[time.Month]int{}
	var weekend, weekday, lastDay, lastDayShipped, orders int
	for _, o := range all(t, snap, shop.Orders) {
		orders++
		if o.PlacedAt.Before(registered[o.CustomerID]) {
			t.Errorf("order %s placed %v before its customer registered (%v)", o.OrderID, o.PlacedAt, registered[o.CustomerID])
		}
		byMonth[o.PlacedAt.Month()]++
		if d := o.PlacedAt.Weekday(); d == time.Saturday || d == time.Sunday {
			weekend++
		} else {
			weekday++
		}
		if end.Sub(o.PlacedAt) < 24*time.Hour {
			lastDay++
			if o.Status == shop.StatusShipped {
				lastDayShipped++
			}
		}
	}
	if orders != 4000 || len(byMonth) != 12 {
		t.Fatalf("%d orders in %d months, want 4000 in 12", orders, len(byMonth))
	}
	if byMonth[time.December] <= byMonth[time.February] || byMonth[time.May] <= byMonth[time.August] {
		t.Errorf("orders by month %v: want December over February (season) and May over August (growth)", byMonth)
	}
	if perDay := func(n, days int) float64 { return float64(n) / float64(days) }; perDay(weekend, 2) <= perDay(weekday, 5) {
		t.Errorf("%d orders at weekends, %d on weekdays: want busier weekends", weekend, weekday)
	}
	if lastDay == 0 || lastDayShipped != 0 {
		t.Errorf("%d orders placed in the last day, %d of them shipped: want some, none shipped yet", lastDay, lastDayShipped)
	}
}

// all is every row of a table.
func all[T any](t *testing.T, snap *memdb.Snapshot, table *memdb.Typed[T]) []T {
	t.Helper()
	it, err := snap.Scan(table.Table().Primary(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for row := it.NextRow(); row != nil; row = it.NextRow() {
		out = append(out, table.Value(row))
	}
	return out
}
