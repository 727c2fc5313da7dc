package shop_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/checked"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/memdb"
)

// TestOverflowRefused replays the overflow attack: amounts near 2^63 that
// used to be accepted and logged with wrapped, negative totals and stock.
// Out-of-bounds fields are now invalid, naming the field; amounts within the
// bounds whose product overflows are refused by Apply, naming the line; and
// nothing of either reaches the log.
func TestOverflowRefused(t *testing.T) {
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, cmd := range []commands.Command{
		&shop.RegisterCustomer{CustomerID: "c1", Name: "Ada", Email: "ada@example.com", Country: "GB"},
		// Within the bounds, but price times quantity is 10^20 > 2^63.
		&shop.AddProduct{SKU: "dear", Name: "Dear", Category: "x", PriceCents: shop.MaxPriceCents, Stock: shop.MaxQuantity},
		&shop.AddProduct{SKU: "cheap", Name: "Cheap", Category: "x", PriceCents: 1, Stock: 10},
	} {
		if _, err := db.Submit(ctx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	const max = math.MaxInt64
	cases := []struct {
		name    string
		cmd     commands.Command
		invalid bool // else refused by Apply
		want    string
	}{
		{"add_product price and stock 2^63-1", &shop.AddProduct{SKU: "big", Name: "Big", Category: "x", PriceCents: max, Stock: max}, true,
			"price_cents 9223372036854775807 is over the maximum of 100000000000\nstock 9223372036854775807 is over the maximum"},
		{"add_product negative price", &shop.AddProduct{SKU: "neg", Name: "Neg", Category: "x", PriceCents: -1}, true, "price_cents -1 is negative"},
		{"change_price 2^62", &shop.ChangePrice{SKU: "cheap", PriceCents: 1 << 62}, true, "price_cents 4611686018427387904 is over the maximum"},
		{"restock 2^63-1", &shop.Restock{SKU: "cheap", Quantity: max}, true, "quantity 9223372036854775807 is over the maximum of 1000000000"},
		{"restock negative", &shop.Restock{SKU: "cheap", Quantity: -4}, true, "quantity -4 must be positive"},
		{"place_order quantity 2^62", &shop.PlaceOrder{OrderID: "o1", CustomerID: "c1", Lines: []shop.OrderItem{{SKU: "cheap", Quantity: 1}, {SKU: "cheap", Quantity: 1 << 62}}}, true,
			"lines[1].quantity 4611686018427387904 is over the maximum"},
		{"place_order whose line overflows", &shop.PlaceOrder{OrderID: "o2", CustomerID: "c1", Lines: []shop.OrderItem{{SKU: "cheap", Quantity: 1}, {SKU: "dear", Quantity: shop.MaxQuantity}}}, false,
			"lines[1]: price_cents of sku dear times quantity: 100000000000 * 1000000000 overflows int64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.Submit(ctx, c.cmd)
			var invalid *commands.InvalidError
			var refused *commands.RefusedError
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.As(err, &invalid) != c.invalid || errors.As(err, &refused) == c.invalid {
				t.Fatalf("got %v; want an invalid=%v error containing %q", err, c.invalid, c.want)
			}
		})
	}
	if seq := db.Log().LastSeq(); seq != 3 {
		t.Fatalf("refused commands reached the log: last seq %d, want 3", seq)
	}
	if p, _, _ := shop.Products.Get(db.View().Snapshot, "dear"); p.Stock != shop.MaxQuantity {
		t.Fatalf("a refused order took stock: %d left", p.Stock)
	}
}

// TestApplyOverflowOnOldRows: rows written before the bounds existed (by
// commands still in the log) may hold amounts near 2^63; Apply refuses what
// would overflow them, naming what overflowed, instead of wrapping.
func TestApplyOverflowOnOldRows(t *testing.T) {
	const max = math.MaxInt64
	cases := []struct {
		name string
		cmd  commands.Command
		want string
	}{
		{"order total over two lines at 2^62", &shop.PlaceOrder{OrderID: "o2", CustomerID: "c1", Lines: []shop.OrderItem{{SKU: "half", Quantity: 1}, {SKU: "half", Quantity: 1}}},
			"lines[1]: total_cents of the order: 4611686018427387904 + 4611686018427387904 overflows int64"},
		{"price 2^63-1 times 2", &shop.PlaceOrder{OrderID: "o2", CustomerID: "c1", Lines: []shop.OrderItem{{SKU: "max", Quantity: 2}}},
			"lines[0]: price_cents of sku max times quantity: 9223372036854775807 * 2 overflows int64"},
		{"restock over 2^63-1", &shop.Restock{SKU: "max", Quantity: 5}, "stock of sku max plus quantity: 9223372036854775807 + 5 overflows int64"},
		{"cancel puts back over 2^63-1", &shop.CancelOrder{OrderID: "o1", Reason: "r"}, "putting back line 1: stock of sku max plus quantity: 9223372036854775807 + 1 overflows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			im, err := memdb.NewImage(shop.App().Tables...)
			if err != nil {
				t.Fatal(err)
			}
			tx := im.Txn()
			for _, err := range []error{
				shop.Customers.Insert(tx, shop.Customer{CustomerID: "c1", Name: "Ada", Email: "ada@example.com", Country: "GB"}),
				shop.Products.Insert(tx, shop.Product{SKU: "max", Name: "M", Category: "x", PriceCents: max, Stock: max}),
				shop.Products.Insert(tx, shop.Product{SKU: "half", Name: "H", Category: "x", PriceCents: 1 << 62, Stock: 10}),
				shop.Orders.Insert(tx, shop.Order{OrderID: "o1", CustomerID: "c1", Status: shop.StatusPlaced, TotalCents: 1}),
				shop.OrderLines.Insert(tx, shop.OrderLine{OrderID: "o1", LineNo: 1, SKU: "max", Quantity: 1, PriceCents: 1}),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := c.cmd.Validate(); err != nil {
				t.Fatalf("the command is invalid, so Apply is not what refuses it: %v", err)
			}
			_, err = c.cmd.Apply(tx, &commands.Envelope{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, checked.ErrOverflow) {
				t.Fatalf("got %v; want an overflow containing %q", err, c.want)
			}
		})
	}
}
