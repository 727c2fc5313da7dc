// Package shopanalytics is another projection of the shop's history: the
// same commands (it knows every command the shop logs), other tables, built
// for analysis rather than for taking orders. It runs as a replica of a
// shop primary, which builds its image from the primary's whole log:
//
//	imago replica --app shop-analytics --primary http://127.0.0.1:8080 ...
//
// Its tables: sales by day and category, each customer's lifetime value,
// and which products are bought together. This is also the way to change a
// projection without downtime: build the new one as a replica, let it catch
// up, move the readers.
//
// Its commands embed the shop's (the same payloads and checks) with an
// Apply of their own. A command the primary logged has been accepted
// there: these Applys never refuse what the shop accepted.
package shopanalytics

import (
	"errors"
	"fmt"
	"slices"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/memdb"
)

// Product is what the projection keeps of a product: its category and
// current price, to value order lines.
type Product struct {
	SKU        string `imago:"sku"`
	Category   string `imago:"category"`
	PriceCents int64  `imago:"price_cents"`
}

// OrderLine is a line of a placed order, valued at the price of then.
type OrderLine struct {
	OrderID    string `imago:"order_id"`
	LineNo     int32  `imago:"line_no"`
	CustomerID string `imago:"customer_id"`
	Day        string `imago:"day"`
	SKU        string `imago:"sku"`
	Category   string `imago:"category"`
	Quantity   int64  `imago:"quantity"`
	PriceCents int64  `imago:"price_cents"`
}

// DaySales is the sales of a category on a day (UTC): orders placed and
// not cancelled.
type DaySales struct {
	Day          string `imago:"day"`
	Category     string `imago:"category"`
	Units        int64  `imago:"units"`
	RevenueCents int64  `imago:"revenue_cents"`
}

// CustomerValue is a customer's lifetime value: what they ordered and paid.
type CustomerValue struct {
	CustomerID string `imago:"customer_id"`
	Orders     int64  `imago:"orders"`
	PaidOrders int64  `imago:"paid_orders"`
	PaidCents  int64  `imago:"paid_cents"`
	FirstDay   string `imago:"first_order_day"`
	LastDay    string `imago:"last_order_day"`
}

// CoPurchase counts the orders that held both products (SKUA < SKUB).
type CoPurchase struct {
	SKUA   string `imago:"sku_a"`
	SKUB   string `imago:"sku_b"`
	Orders int64  `imago:"orders"`
}

// The projection's tables.
var (
	Products = memdb.MustBind[Product](memdb.MustDefine(memdb.TableDef{
		Name: "products",
		Columns: []memdb.Column{
			{Name: "sku", Type: memdb.Varchar(64)}, {Name: "category", Type: memdb.Varchar(100)}, {Name: "price_cents", Type: memdb.BigInt},
		},
		PrimaryKey: []string{"sku"},
	}))
	OrderLines = memdb.MustBind[OrderLine](memdb.MustDefine(memdb.TableDef{
		Name: "order_lines",
		Columns: []memdb.Column{
			{Name: "order_id", Type: memdb.Varchar(64)}, {Name: "line_no", Type: memdb.Int}, {Name: "customer_id", Type: memdb.Varchar(64)},
			{Name: "day", Type: memdb.Char(10)}, {Name: "sku", Type: memdb.Varchar(64)}, {Name: "category", Type: memdb.Varchar(100)},
			{Name: "quantity", Type: memdb.BigInt}, {Name: "price_cents", Type: memdb.BigInt},
		},
		PrimaryKey: []string{"order_id", "line_no"},
	}))
	Sales = memdb.MustBind[DaySales](memdb.MustDefine(memdb.TableDef{
		Name: "sales_by_day",
		Columns: []memdb.Column{
			{Name: "day", Type: memdb.Char(10)}, {Name: "category", Type: memdb.Varchar(100)},
			{Name: "units", Type: memdb.BigInt}, {Name: "revenue_cents", Type: memdb.BigInt},
		},
		PrimaryKey: []string{"day", "category"},
		Indexes:    []memdb.IndexDef{{Name: "category", Columns: []string{"category"}}},
	}))
	Customers = memdb.MustBind[CustomerValue](memdb.MustDefine(memdb.TableDef{
		Name: "customer_value",
		Columns: []memdb.Column{
			{Name: "customer_id", Type: memdb.Varchar(64)}, {Name: "orders", Type: memdb.BigInt}, {Name: "paid_orders", Type: memdb.BigInt},
			{Name: "paid_cents", Type: memdb.BigInt}, {Name: "first_order_day", Type: memdb.Char(10)}, {Name: "last_order_day", Type: memdb.Char(10)},
		},
		PrimaryKey: []string{"customer_id"},
		Indexes:    []memdb.IndexDef{{Name: "paid_cents", Columns: []string{"paid_cents"}}},
	}))
	CoPurchases = memdb.MustBind[CoPurchase](memdb.MustDefine(memdb.TableDef{
		Name: "co_purchases",
		Columns: []memdb.Column{
			{Name: "sku_a", Type: memdb.Varchar(64)}, {Name: "sku_b", Type: memdb.Varchar(64)}, {Name: "orders", Type: memdb.BigInt},
		},
		PrimaryKey: []string{"sku_a", "sku_b"},
		Indexes:    []memdb.IndexDef{{Name: "sku_b", Columns: []string{"sku_b"}}},
	}))
)

// App is the shop-analytics projection (SQL database "shop_analytics").
func App() *imago.App {
	return &imago.App{
		Name:              "shop_analytics",
		ProjectionVersion: 1,
		Tables:            []*memdb.Table{Products.Table(), OrderLines.Table(), Sales.Table(), Customers.Table(), CoPurchases.Table()},
		Commands: []commands.Definition{
			commands.Define[RegisterCustomer]("register_customer", 1),
			commands.Define[AddProduct]("add_product", 1),
			commands.Define[Restock]("restock", 1),
			commands.Define[ChangePrice]("change_price", 1),
			commands.Define[PlaceOrder]("place_order", 1),
			commands.Define[PayOrder]("pay_order", 1),
			commands.Define[ShipOrder]("ship_order", 1),
			commands.Define[CancelOrder]("cancel_order", 1),
		},
	}
}

// The shop's commands with the projection's Apply.
type (
	RegisterCustomer struct{ shop.RegisterCustomer }
	AddProduct       struct{ shop.AddProduct }
	Restock          struct{ shop.Restock }
	ChangePrice      struct{ shop.ChangePrice }
	PlaceOrder       struct{ shop.PlaceOrder }
	PayOrder         struct{ shop.PayOrder }
	ShipOrder        struct{ shop.ShipOrder }
	CancelOrder      struct{ shop.CancelOrder }
)

// Apply: a customer counts from their first order.
func (c *RegisterCustomer) Apply(*memdb.Txn, *commands.Envelope) (any, error) { return nil, nil }

// Apply: stock is not analysed.
func (c *Restock) Apply(*memdb.Txn, *commands.Envelope) (any, error) { return nil, nil }

// Apply: shipping changes no figure here.
func (c *ShipOrder) Apply(*memdb.Txn, *commands.Envelope) (any, error) { return nil, nil }

// Apply keeps the product's category and price.
func (c *AddProduct) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	return nil, Products.Insert(tx, Product{SKU: c.SKU, Category: c.Category, PriceCents: c.PriceCents})
}

// Apply keeps the new price for later orders.
func (c *ChangePrice) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	p, found, err := Products.Get(tx, c.SKU)
	if err != nil || !found {
		return nil, errors.Join(err, fmt.Errorf("no product %s", c.SKU))
	}
	p.PriceCents = c.PriceCents
	return nil, Products.Update(tx, p)
}

// Apply values the lines at the current prices, adds them to the day's
// sales, to the customer's orders and to the pairs bought together.
func (c *PlaceOrder) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	day := env.Time.UTC().Format("2006-01-02")
	skus := map[string]bool{}
	for i, l := range c.Lines {
		p, found, err := Products.Get(tx, l.SKU)
		if err != nil || !found {
			return nil, errors.Join(err, fmt.Errorf("no product %s", l.SKU))
		}
		line := OrderLine{OrderID: c.OrderID, LineNo: int32(i + 1), CustomerID: c.CustomerID, Day: day,
			SKU: l.SKU, Category: p.Category, Quantity: l.Quantity, PriceCents: p.PriceCents}
		if err := OrderLines.Insert(tx, line); err != nil {
			return nil, err
		}
		if err := addSales(tx, line, 1); err != nil {
			return nil, err
		}
		skus[l.SKU] = true
	}
	if err := countPairs(tx, skus); err != nil {
		return nil, err
	}
	v, found, err := Customers.Get(tx, c.CustomerID)
	if err != nil {
		return nil, err
	}
	if !found {
		v = CustomerValue{CustomerID: c.CustomerID, FirstDay: day}
	}
	v.Orders++
	v.LastDay = day
	if found {
		return nil, Customers.Update(tx, v)
	}
	return nil, Customers.Insert(tx, v)
}

// Apply adds the order's value to its customer's paid total.
func (c *PayOrder) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	lines, err := orderLines(tx, c.OrderID)
	if err != nil || len(lines) == 0 {
		return nil, errors.Join(err, fmt.Errorf("no order %s", c.OrderID))
	}
	v, found, err := Customers.Get(tx, lines[0].CustomerID)
	if err != nil || !found {
		return nil, errors.Join(err, fmt.Errorf("no customer %s", lines[0].CustomerID))
	}
	v.PaidOrders++
	v.PaidCents += c.AmountCents
	return nil, Customers.Update(tx, v)
}

// Apply takes a cancelled order's lines out of the day's sales.
func (c *CancelOrder) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	lines, err := orderLines(tx, c.OrderID)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		if err := addSales(tx, l, -1); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// addSales adds (sign 1) or removes (-1) a line's units and value from its
// day and category.
func addSales(tx *memdb.Txn, l OrderLine, sign int64) error {
	s, found, err := Sales.Get(tx, l.Day, l.Category)
	if err != nil {
		return err
	}
	s.Day, s.Category = l.Day, l.Category
	s.Units += sign * l.Quantity
	s.RevenueCents += sign * l.Quantity * l.PriceCents
	if found {
		return Sales.Update(tx, s)
	}
	return Sales.Insert(tx, s)
}

// countPairs counts one more order for every pair of distinct products in
// it, in a fixed (sorted) order: the same log gives the same rows.
func countPairs(tx *memdb.Txn, skus map[string]bool) error {
	list := make([]string, 0, len(skus))
	for s := range skus {
		list = append(list, s)
	}
	slices.Sort(list)
	for i, a := range list {
		for _, b := range list[i+1:] {
			p, found, err := CoPurchases.Get(tx, a, b)
			if err != nil {
				return err
			}
			p.SKUA, p.SKUB = a, b
			p.Orders++
			if found {
				err = CoPurchases.Update(tx, p)
			} else {
				err = CoPurchases.Insert(tx, p)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// orderLines are an order's lines.
func orderLines(tx *memdb.Txn, orderID string) ([]OrderLine, error) {
	it, err := tx.Prefix(OrderLines.Table().Primary(), orderID)
	if err != nil {
		return nil, err
	}
	var out []OrderLine
	for row := it.NextRow(); row != nil; row = it.NextRow() {
		out = append(out, OrderLines.Value(row))
	}
	return out, nil
}
