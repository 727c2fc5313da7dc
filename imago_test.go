package imago_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/writer"
)

func open(t *testing.T, dir string, app *imago.App) *imago.DB {
	t.Helper()
	db, err := imago.Open(dir, app, imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func submitAll(t *testing.T, db *imago.DB, cmds []commands.Command) {
	t.Helper()
	for _, c := range cmds {
		if _, err := db.Submit(context.Background(), c); err != nil {
			t.Fatalf("%T: %v", c, err)
		}
	}
}

// TestReplayInvariantShopWorkload runs a concurrent mixed workload with
// refusals, then checks that the published image equals a replay of the log,
// before and after a restart.
func TestReplayInvariantShopWorkload(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, shop.App())
	submitAll(t, db, workload.Setup(50, 30))

	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := 0
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := workload.New(fmt.Sprint(w), uint64(w), 50, 30)
			for i := 0; i < 300; i++ {
				_, err := db.Submit(context.Background(), g.Next())
				var re *commands.RefusedError
				switch {
				case errors.As(err, &re):
					mu.Lock()
					refused++
					mu.Unlock()
				case err != nil:
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if refused == 0 {
		t.Fatal("the workload produced no refused command; the test would not cover refusals")
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	view := db.View()
	if got, want := view.Seq, uint64(80+8*300-refused); got != want {
		t.Fatalf("last seq %d, want %d (accepted commands, without the %d refused)", got, want, refused)
	}
	before, _ := view.Snapshot.Hash()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, dir, shop.App())
	defer db.Close()
	after, _ := db.View().Snapshot.Hash()
	if before != after || db.View().Seq != view.Seq {
		t.Fatalf("restart changed the image: seq %d -> %d", view.Seq, db.View().Seq)
	}
	if got := db.Recovery().Commands; got != view.Seq {
		t.Fatalf("recovery replayed %d commands, want %d", got, view.Seq)
	}
}

// TestRefusedCommandLeavesNoTrace: a refused command changes nothing, uses no
// seq and is not in the log, even when it wrote before failing.
func TestRefusedCommandLeavesNoTrace(t *testing.T) {
	db := open(t, t.TempDir(), shop.App())
	defer db.Close()
	submitAll(t, db, workload.Setup(2, 2))
	before := db.View()
	hashBefore, _ := before.Snapshot.Hash()

	// The second line runs out of stock after the first line took its stock
	// and wrote its order line: all of that must vanish.
	_, err := db.Submit(context.Background(), &shop.PlaceOrder{OrderID: "o1", CustomerID: workload.CustomerID(0),
		Lines: []shop.OrderItem{{SKU: workload.SKU(0), Quantity: 1}, {SKU: workload.SKU(1), Quantity: 5000}}})
	var re *commands.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("want a refusal, got %v", err)
	}
	if want := "insufficient stock for sku sku-00001: 1000 left, 5000 requested"; re.Err.Error() != want {
		t.Fatalf("message %q, want %q", re.Err, want)
	}
	after := db.View()
	hashAfter, _ := after.Snapshot.Hash()
	if after.Seq != before.Seq || hashAfter != hashBefore || db.Log().LastSeq() != before.Seq {
		t.Fatalf("refused command left a trace: seq %d->%d, log %d", before.Seq, after.Seq, db.Log().LastSeq())
	}
	// The next command gets the next seq.
	res, err := db.Submit(context.Background(), &shop.Restock{SKU: workload.SKU(0), Quantity: 1})
	if err != nil || res.Seq != before.Seq+1 {
		t.Fatalf("next command: seq %d, err %v; want seq %d", res.Seq, err, before.Seq+1)
	}
}

func TestShopRules(t *testing.T) {
	db := open(t, t.TempDir(), shop.App())
	defer db.Close()
	submitAll(t, db, workload.Setup(2, 2))
	c0, sku0 := workload.CustomerID(0), workload.SKU(0)
	ctx := context.Background()
	steps := []struct {
		cmd     commands.Command
		refusal string // "" = must succeed
	}{
		{&shop.RegisterCustomer{CustomerID: c0, Name: "x", Email: "new@example.com", Country: "DE"}, "customer c-000000 already exists"},
		{&shop.RegisterCustomer{CustomerID: "c-new", Name: "x", Email: "customer0@example.com", Country: "DE"}, "email customer0@example.com is already registered to customer c-000000"},
		{&shop.AddProduct{SKU: sku0, Name: "x", Category: "y", PriceCents: 1, Stock: 1}, "product sku-00000 already exists"},
		{&shop.Restock{SKU: "nope", Quantity: 1}, "unknown sku nope"},
		{&shop.PlaceOrder{OrderID: "o1", CustomerID: "nobody", Lines: []shop.OrderItem{{SKU: sku0, Quantity: 1}}}, "unknown customer nobody"},
		{&shop.PlaceOrder{OrderID: "o1", CustomerID: c0, Lines: []shop.OrderItem{{SKU: "nope", Quantity: 1}}}, "unknown sku nope"},
		{&shop.PlaceOrder{OrderID: "o1", CustomerID: c0, Lines: []shop.OrderItem{{SKU: sku0, Quantity: 2}}}, ""},
		{&shop.PlaceOrder{OrderID: "o1", CustomerID: c0, Lines: []shop.OrderItem{{SKU: sku0, Quantity: 2}}}, "order o1 already exists"},
		{&shop.ShipOrder{OrderID: "o1"}, "order o1 is placed, must be paid"},
		{&shop.PayOrder{OrderID: "o1", AmountCents: 1}, "order o1: amount_cents 1 does not equal the total 200"},
		{&shop.PayOrder{OrderID: "o1", AmountCents: 200}, ""},
		{&shop.PayOrder{OrderID: "o1", AmountCents: 200}, "order o1 is paid, must be placed"},
		{&shop.CancelOrder{OrderID: "o1", Reason: "late"}, ""},
		{&shop.ShipOrder{OrderID: "o1"}, "order o1 is cancelled, must be paid"},
	}
	for i, s := range steps {
		_, err := db.Submit(ctx, s.cmd)
		switch {
		case s.refusal == "" && err != nil:
			t.Fatalf("step %d %T: %v", i, s.cmd, err)
		case s.refusal != "":
			var re *commands.RefusedError
			if !errors.As(err, &re) || re.Err.Error() != s.refusal {
				t.Fatalf("step %d %T: got %v, want refusal %q", i, s.cmd, err, s.refusal)
			}
		}
	}
	// Cancelling restored the stock the order took.
	p, _, _ := shop.Products.Get(db.View().Snapshot, sku0)
	o, _, _ := shop.Orders.Get(db.View().Snapshot, "o1")
	if p.Stock != 1000 || o.Status != shop.StatusCancelled || *o.CancelReason != "late" || o.PaidAt == nil {
		t.Fatalf("after cancel: stock %d, order %+v", p.Stock, o)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejectsBeforeLogging(t *testing.T) {
	db := open(t, t.TempDir(), shop.App())
	defer db.Close()
	for _, c := range []struct {
		cmd  commands.Command
		want string
	}{
		{&shop.RegisterCustomer{CustomerID: "c", Name: "n", Email: "a@b", Country: "DEU"}, `country "DEU" is not two letters`},
		{&shop.AddProduct{SKU: "s", Name: "n", Category: "c", PriceCents: -1}, "price_cents -1 is negative"},
		{&shop.Restock{SKU: "s", Quantity: 0}, "quantity 0 must be positive"},
		{&shop.PlaceOrder{OrderID: "o", CustomerID: "c"}, "lines: an order needs at least one line"},
		{&shop.PlaceOrder{OrderID: "o", CustomerID: "c", Lines: []shop.OrderItem{{SKU: "s", Quantity: -2}}}, "lines[0].quantity -2 must be positive"},
	} {
		_, err := db.Submit(context.Background(), c.cmd)
		var ie *commands.InvalidError
		if !errors.As(err, &ie) || ie.Err.Error() != c.want {
			t.Errorf("%T: got %v, want invalid %q", c.cmd, err, c.want)
		}
	}
	if db.Log().LastSeq() != 0 {
		t.Fatalf("invalid commands reached the log: last seq %d", db.Log().LastSeq())
	}
}

func TestDictionary(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, dictionary.App())
	submitAll(t, db, []commands.Command{
		&dictionary.Set{Key: "greeting", Value: "hello"},
		&dictionary.Add{Key: "greeting", Value: ", world"},
		&dictionary.Add{Key: "new", Value: "x"},
	})
	db.Close()
	db = open(t, dir, dictionary.App())
	defer db.Close()
	e, _, _ := dictionary.Entries.Get(db.View().Snapshot, "greeting")
	if e.Value != "hello, world" || db.View().Snapshot.Count(dictionary.Entries.Table()) != 2 {
		t.Fatalf("after restart: %q, %d entries", e.Value, db.View().Snapshot.Count(dictionary.Entries.Table()))
	}
}

// TestEnvelopeTimeIsTheOnlyClock: times written by Apply come from the
// envelope, so replay on another day rebuilds the same rows.
func TestEnvelopeTimeIsTheOnlyClock(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_789_000, time.UTC)
	db, err := imago.Open(dir, shop.App(), imago.Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	submitAll(t, db, workload.Setup(1, 0))
	db.Close()
	db = open(t, dir, shop.App()) // the default clock now: replay must not read it
	defer db.Close()
	c, _, _ := shop.Customers.Get(db.View().Snapshot, workload.CustomerID(0))
	if !c.RegisteredAt.Equal(at) {
		t.Fatalf("registered_at %v, want %v", c.RegisteredAt, at)
	}
}

// TestDurabilityModes: every mode keeps what was acknowledged across a
// clean close and reopen, and the published image equals the log's replay.
func TestDurabilityModes(t *testing.T) {
	for _, mode := range []string{"always", "interval=5ms", "none"} {
		t.Run(mode, func(t *testing.T) {
			d, err := writer.ParseDurability(mode)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			db, err := imago.Open(dir, dictionary.App(), imago.Options{Durability: d})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 50; i++ {
				if _, err := db.Submit(context.Background(), &dictionary.Add{Key: "k", Value: "x"}); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(20 * time.Millisecond) // let interval mode sync at least once in the background
			if err := db.VerifyReplay(); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = open(t, dir, dictionary.App())
			defer db.Close()
			if e, _, _ := dictionary.Entries.Get(db.View().Snapshot, "k"); len(e.Value) != 50 {
				t.Fatalf("after reopen: value of %d characters, want 50", len(e.Value))
			}
		})
	}
}

func TestCloseTwice(t *testing.T) {
	db := open(t, t.TempDir(), dictionary.App())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := db.Submit(context.Background(), &dictionary.Set{Key: "k"}); !errors.Is(err, commands.ErrNotAccepting) {
		t.Fatalf("submit after close: %v, want ErrNotAccepting", err)
	}
}
