package tpch

import (
	"fmt"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// MaxRows bounds the rows of one load command.
const MaxRows = 10000

// App is TPC-H as an Imago app (SQL database "tpch").
func App() *imago.App {
	return &imago.App{
		Name:              "tpch",
		ProjectionVersion: 1,
		Tables: []*memdb.Table{Regions.Table(), Nations.Table(), Suppliers.Table(), Parts.Table(), PartSupps.Table(),
			Customers.Table(), Orders.Table(), LineItems.Table()},
		Commands: []commands.Definition{
			commands.Define[LoadRegions]("load_regions", 1), commands.Define[LoadNations]("load_nations", 1),
			commands.Define[LoadSuppliers]("load_suppliers", 1), commands.Define[LoadParts]("load_parts", 1),
			commands.Define[LoadCustomers]("load_customers", 1), commands.Define[LoadOrders]("load_orders", 1),
		},
	}
}

// LoadRegions inserts regions.
type LoadRegions struct {
	Rows []Region `json:"rows"`
}

// LoadNations inserts nations.
type LoadNations struct {
	Rows []Nation `json:"rows"`
}

// LoadSuppliers inserts suppliers.
type LoadSuppliers struct {
	Rows []Supplier `json:"rows"`
}

// LoadParts inserts parts and their suppliers.
type LoadParts struct {
	Rows      []Part     `json:"rows"`
	Suppliers []PartSupp `json:"suppliers"`
}

// LoadCustomers inserts customers.
type LoadCustomers struct {
	Rows []Customer `json:"rows"`
}

// LoadOrders inserts orders and their lines.
type LoadOrders struct {
	Rows  []Order    `json:"rows"`
	Lines []LineItem `json:"lines"`
}

func checkRows(n ...int) error {
	total := 0
	for _, x := range n {
		total += x
	}
	if total == 0 || total > MaxRows {
		return fmt.Errorf("%d rows: a load holds 1 to %d", total, MaxRows)
	}
	return nil
}

// insert inserts rows into table (a duplicate key refuses the load).
func insert[T any](tx *memdb.Txn, table *memdb.Typed[T], rows []T) error {
	for i := range rows {
		if err := table.Insert(tx, rows[i]); err != nil {
			return fmt.Errorf("%s row %d: %w", table.Table().Name(), i, err)
		}
	}
	return nil
}

// Validate implements commands.Command.
func (c *LoadRegions) Validate() error { return checkRows(len(c.Rows)) }

// Apply implements commands.Command.
func (c *LoadRegions) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	return nil, insert(tx, Regions, c.Rows)
}

// Validate implements commands.Command.
func (c *LoadNations) Validate() error { return checkRows(len(c.Rows)) }

// Apply implements commands.Command.
func (c *LoadNations) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	return nil, insert(tx, Nations, c.Rows)
}

// Validate implements commands.Command.
func (c *LoadSuppliers) Validate() error { return checkRows(len(c.Rows)) }

// Apply implements commands.Command.
func (c *LoadSuppliers) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	return nil, insert(tx, Suppliers, c.Rows)
}

// Validate implements commands.Command.
func (c *LoadParts) Validate() error { return checkRows(len(c.Rows), len(c.Suppliers)) }

// Apply implements commands.Command.
func (c *LoadParts) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	if err := insert(tx, Parts, c.Rows); err != nil {
		return nil, err
	}
	return nil, insert(tx, PartSupps, c.Suppliers)
}

// Validate implements commands.Command.
func (c *LoadCustomers) Validate() error { return checkRows(len(c.Rows)) }

// Apply implements commands.Command.
func (c *LoadCustomers) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	return nil, insert(tx, Customers, c.Rows)
}

// Validate implements commands.Command.
func (c *LoadOrders) Validate() error { return checkRows(len(c.Rows), len(c.Lines)) }

// Apply implements commands.Command. Dates are made UTC: a payload's times
// decode from the log in the local zone, and the image holds UTC.
func (c *LoadOrders) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	for i := range c.Rows {
		c.Rows[i].OrderDate = c.Rows[i].OrderDate.UTC()
	}
	for i := range c.Lines {
		l := &c.Lines[i]
		l.ShipDate, l.CommitDate, l.ReceiptDate = l.ShipDate.UTC(), l.CommitDate.UTC(), l.ReceiptDate.UTC()
	}
	if err := insert(tx, Orders, c.Rows); err != nil {
		return nil, err
	}
	return nil, insert(tx, LineItems, c.Lines)
}
