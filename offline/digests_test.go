package offline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/offline"
)

// roundedPlaceOrder is a v2 of the shop whose place_order rounds the
// order's total to ten cents (half up).
type roundedPlaceOrder struct{ shop.PlaceOrder }

func (c *roundedPlaceOrder) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	if _, err := c.PlaceOrder.Apply(tx, env); err != nil {
		return nil, err
	}
	o, _, err := shop.Orders.Get(tx, c.OrderID)
	if err != nil {
		return nil, err
	}
	o.TotalCents = (o.TotalCents + 5) / 10 * 10
	return map[string]any{"order_id": o.OrderID, "total_cents": o.TotalCents}, shop.Orders.Update(tx, o)
}

func roundingShop() *imago.App {
	app := shop.App()
	app.ProjectionVersion++
	for i, d := range app.Commands {
		if d.Name == "place_order" {
			app.Commands[i] = commands.Define[roundedPlaceOrder]("place_order", 1)
		}
	}
	return app
}

// TestReplayDiff: the same log replayed by the shop and by a shop whose
// place_order rounds: the diff names the first place_order whose total
// was not a multiple of ten, and its orders row in each build.
func TestReplayDiff(t *testing.T) {
	dir := t.TempDir()
	db, err := imago.Open(dir, shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range workload.Setup(20, 10) {
		if _, err := db.Submit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	g := workload.New("d", 1, 20, 10)
	want := uint64(0) // the first order whose total is not a multiple of ten
	var wantOrder string
	for range 400 {
		res, err := db.Submit(ctx, g.Next())
		if err != nil {
			continue
		}
		if m, ok := res.Value.(map[string]any); ok && want == 0 {
			if total, ok := m["total_cents"].(int64); ok && total%10 != 0 {
				want, wantOrder = res.Seq, m["order_id"].(string)
			}
		}
	}
	db.Close()
	if want == 0 {
		t.Fatal("the workload placed no order with odd cents")
	}

	var a, b, a2 bytes.Buffer
	for _, r := range []struct {
		app *imago.App
		out *bytes.Buffer
	}{{shop.App(), &a}, {roundingShop(), &b}, {shop.App(), &a2}} {
		if _, err := offline.ReplayDigests(dir, r.app, offline.DigestOptions{Every: 50}, r.out); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := offline.Diff(bytes.NewReader(a.Bytes()), bytes.NewReader(a2.Bytes()), nil); d != nil || err != nil {
		t.Fatalf("a build against itself: %+v %v", d, err)
	}
	d, err := offline.Diff(bytes.NewReader(a.Bytes()), bytes.NewReader(b.Bytes()), nil)
	if err != nil || d == nil {
		t.Fatalf("diff: %+v %v", d, err)
	}
	if d.Seq != want || d.Name != "place_order" || !strings.Contains(string(d.Payload), wantOrder) {
		t.Fatalf("diverged at seq %d (%s %s), want seq %d (order %s)", d.Seq, d.Name, d.Payload, want, wantOrder)
	}
	var found bool
	for _, r := range d.Rows {
		if r.Table == "orders" && fmt.Sprint(r.Key) == "["+wantOrder+"]" && r.A != nil && r.B != nil {
			ta, tb := r.A.After["total_cents"].(json.Number), r.B.After["total_cents"].(json.Number)
			found = ta != tb && strings.HasSuffix(string(tb), "0")
			t.Logf("orders %v: total_cents %s in A, %s in B", r.Key, ta, tb)
		}
	}
	if !found {
		t.Fatalf("the orders row is not among the differences: %+v", d.Rows)
	}
	// The rounding is intended: ignored, what remains is a consequence (a
	// payment of the old total), later, or nothing.
	d2, err := offline.Diff(bytes.NewReader(a.Bytes()), bytes.NewReader(b.Bytes()), []string{"orders.total_cents"})
	if err != nil || (d2 != nil && d2.Seq <= want) {
		t.Fatalf("with --ignore orders.total_cents: %+v %v", d2, err)
	}
	if d2 != nil {
		t.Logf("with orders.total_cents ignored, next divergence: seq %d %s %s / %s", d2.Seq, d2.Name, d2.OutcomeA, d2.OutcomeB)
	}
}
