// Package shop is the demo application Imago serves by default: customers,
// products, orders and their lines, changed by eight commands. It is also the
// app the tests and benchmarks use. Times come from the command envelope,
// never from a clock, so replay rebuilds exactly the same state.
package shop

import (
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// App is the shop application.
func App() *imago.App {
	return &imago.App{
		Name:              "shop",
		ProjectionVersion: 1,
		Tables:            []*memdb.Table{Customers.Table(), Products.Table(), Orders.Table(), OrderLines.Table()},
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
		// The audit trail by customer, order and product: imago.commands'
		// columns customer_id, order_id and sku, indexed.
		AuditFields: map[string][]string{
			"register_customer": {"customer_id"},
			"add_product":       {"sku"},
			"restock":           {"sku"},
			"change_price":      {"sku"},
			"place_order":       {"customer_id", "order_id"},
			"pay_order":         {"order_id"},
			"ship_order":        {"order_id"},
			"cancel_order":      {"order_id"},
		},
		Flags: flags,
	}
}

// Order statuses.
const (
	StatusPlaced    = "placed"
	StatusPaid      = "paid"
	StatusShipped   = "shipped"
	StatusCancelled = "cancelled"
)

// Customer is a row of customers.
type Customer struct {
	CustomerID   string    `imago:"customer_id"`
	Name         string    `imago:"name"`
	Email        string    `imago:"email"`
	Country      string    `imago:"country"`
	RegisteredAt time.Time `imago:"registered_at"`
}

// Product is a row of products.
type Product struct {
	SKU        string `imago:"sku"`
	Name       string `imago:"name"`
	Category   string `imago:"category"`
	PriceCents int64  `imago:"price_cents"`
	Stock      int64  `imago:"stock"`
}

// Order is a row of orders.
type Order struct {
	OrderID      string     `imago:"order_id"`
	CustomerID   string     `imago:"customer_id"`
	Status       string     `imago:"status"`
	TotalCents   int64      `imago:"total_cents"`
	PlacedAt     time.Time  `imago:"placed_at"`
	PaidAt       *time.Time `imago:"paid_at"`
	ShippedAt    *time.Time `imago:"shipped_at"`
	CancelledAt  *time.Time `imago:"cancelled_at"`
	CancelReason *string    `imago:"cancel_reason"`
}

// OrderLine is a row of order_lines.
type OrderLine struct {
	OrderID    string `imago:"order_id"`
	LineNo     int32  `imago:"line_no"`
	SKU        string `imago:"sku"`
	Quantity   int64  `imago:"quantity"`
	PriceCents int64  `imago:"price_cents"`
}

// The tables, bound to their row types.
var (
	Customers = memdb.MustBind[Customer](memdb.MustDefine(memdb.TableDef{
		Name: "customers",
		Columns: []memdb.Column{
			{Name: "customer_id", Type: memdb.Varchar(64)},
			{Name: "name", Type: memdb.Varchar(200)},
			{Name: "email", Type: memdb.Varchar(320)},
			{Name: "country", Type: memdb.Char(2)},
			{Name: "registered_at", Type: memdb.Datetime},
		},
		PrimaryKey: []string{"customer_id"},
		Indexes: []memdb.IndexDef{
			{Name: "email", Columns: []string{"email"}, Unique: true},
			{Name: "country", Columns: []string{"country"}},
		},
	}))
	Products = memdb.MustBind[Product](memdb.MustDefine(memdb.TableDef{
		Name: "products",
		Columns: []memdb.Column{
			{Name: "sku", Type: memdb.Varchar(64)},
			{Name: "name", Type: memdb.Varchar(200)},
			{Name: "category", Type: memdb.Varchar(100)},
			{Name: "price_cents", Type: memdb.BigInt},
			{Name: "stock", Type: memdb.BigInt},
		},
		PrimaryKey: []string{"sku"},
		Indexes:    []memdb.IndexDef{{Name: "category", Columns: []string{"category"}}},
	}))
	Orders = memdb.MustBind[Order](memdb.MustDefine(memdb.TableDef{
		Name: "orders",
		Columns: []memdb.Column{
			{Name: "order_id", Type: memdb.Varchar(64)},
			{Name: "customer_id", Type: memdb.Varchar(64)},
			{Name: "status", Type: memdb.Varchar(16)},
			{Name: "total_cents", Type: memdb.BigInt},
			{Name: "placed_at", Type: memdb.Datetime},
			{Name: "paid_at", Type: memdb.Datetime, Nullable: true},
			{Name: "shipped_at", Type: memdb.Datetime, Nullable: true},
			{Name: "cancelled_at", Type: memdb.Datetime, Nullable: true},
			{Name: "cancel_reason", Type: memdb.Varchar(500), Nullable: true},
		},
		PrimaryKey: []string{"order_id"},
		Indexes: []memdb.IndexDef{
			{Name: "customer_id", Columns: []string{"customer_id"}},
			{Name: "status", Columns: []string{"status"}},
			{Name: "placed_at", Columns: []string{"placed_at"}},
		},
	}))
	OrderLines = memdb.MustBind[OrderLine](memdb.MustDefine(memdb.TableDef{
		Name: "order_lines",
		Columns: []memdb.Column{
			{Name: "order_id", Type: memdb.Varchar(64)},
			{Name: "line_no", Type: memdb.Int},
			{Name: "sku", Type: memdb.Varchar(64)},
			{Name: "quantity", Type: memdb.BigInt},
			{Name: "price_cents", Type: memdb.BigInt},
		},
		PrimaryKey: []string{"order_id", "line_no"},
		Indexes:    []memdb.IndexDef{{Name: "sku", Columns: []string{"sku"}}},
	}))
)

// Indexes commands look rows up by.
var customersByEmail = Customers.Table().Indexes()[0]
