package shop_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/reactors"
	"github.com/imagodb/imago/wal"
)

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestReorderReactor: a run of orders that takes two products below the
// level restocks each once, back to twice the level, whatever the order of
// the lines; the restocks name the order that caused them.
func TestReorderReactor(t *testing.T) {
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{Reactors: []reactors.Reactor{shop.ReorderReactor(5)}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	submit := func(cmd commands.Command) uint64 {
		t.Helper()
		res, err := db.Submit(ctx, cmd)
		if err != nil {
			t.Fatal(err)
		}
		return res.Seq
	}
	submit(&shop.RegisterCustomer{CustomerID: "c1", Name: "Ada", Email: "ada@example.com", Country: "GB"})
	for _, sku := range []string{"a", "b", "c"} {
		submit(&shop.AddProduct{SKU: sku, Name: sku, Category: "x", PriceCents: 100, Stock: 8})
	}
	// Each order is submitted once the reactor dealt with the one before,
	// so that the test knows which order caused which restock.
	order := func(id string, lines ...shop.OrderItem) uint64 {
		seq := submit(&shop.PlaceOrder{OrderID: id, CustomerID: "c1", Lines: lines})
		for deadline := time.Now().Add(10 * time.Second); db.Reactors()[0].Cursor < seq; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the reactor did not reach seq %d: %+v", seq, db.Reactors())
			}
		}
		return seq
	}
	order("o1", shop.OrderItem{SKU: "a", Quantity: 3}, shop.OrderItem{SKU: "c", Quantity: 3}) // 5, 8, 5: none below 5
	low := order("o2", shop.OrderItem{SKU: "c", Quantity: 1}, shop.OrderItem{SKU: "a", Quantity: 2}, shop.OrderItem{SKU: "c", Quantity: 1})
	order("o3", shop.OrderItem{SKU: "b", Quantity: 1}) // 7: none

	for sku, want := range map[string]int64{"a": 10, "b": 7, "c": 10} {
		if p, _, _ := shop.Products.Get(db.View().Snapshot, sku); p.Stock != want {
			t.Errorf("stock of %s: %d, want %d", sku, p.Stock, want)
		}
	}
	var restocks []commands.Envelope
	db.Log().Read(1, db.View().Seq, func(e wal.Entry) error {
		env, err := envelope.Decode(e.Seq, e.Data)
		if err == nil && env.Name == "restock" {
			restocks = append(restocks, env)
		}
		return err
	})
	if len(restocks) != 2 {
		t.Fatalf("%d restocks, want 2 (c and a, once each)", len(restocks))
	}
	for i, sku := range []string{"c", "a"} { // the order's lines, in order
		env := restocks[i]
		if want := "reactor:reorder:" + itoa(low) + ":" + sku; env.ID != want || env.Cause != itoa(low) || env.Actor != "reactor:reorder" {
			t.Errorf("restock %d: id %q cause %q actor %q; want key %q caused by %d", i, env.ID, env.Cause, env.Actor, want, low)
		}
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}
