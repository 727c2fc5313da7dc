package shop

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/imagodb/imago/checked"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// RegisterCustomer adds a customer.
type RegisterCustomer struct {
	CustomerID string `json:"customer_id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Country    string `json:"country"`
}

// Validate implements commands.Command.
func (c *RegisterCustomer) Validate() error {
	return errors.Join(
		text("customer_id", c.CustomerID, 64),
		text("name", c.Name, 200),
		text("email", c.Email, 320),
		check(strings.Count(c.Email, "@") == 1, "email %q is not an address", c.Email),
		check(len(c.Country) == 2 && isLetters(c.Country), "country %q is not two letters", c.Country),
	)
}

// Apply implements commands.Command.
func (c *RegisterCustomer) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	if _, found, err := Customers.Get(tx, c.CustomerID); err != nil || found {
		return nil, orErr(err, "customer %s already exists", c.CustomerID)
	}
	if other, found, err := Customers.First(tx, customersByEmail, c.Email); err != nil || found {
		return nil, orErr(err, "email %s is already registered to customer %s", c.Email, other.CustomerID)
	}
	return nil, Customers.Insert(tx, Customer{
		CustomerID: c.CustomerID, Name: c.Name, Email: c.Email,
		Country: strings.ToUpper(c.Country), RegisteredAt: env.Time,
	})
}

// AddProduct adds a product to the catalogue.
type AddProduct struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	Category   string `json:"category"`
	PriceCents int64  `json:"price_cents"`
	Stock      int64  `json:"stock"`
}

// Validate implements commands.Command.
func (c *AddProduct) Validate() error {
	return errors.Join(
		text("sku", c.SKU, 64),
		text("name", c.Name, 200),
		text("category", c.Category, 100),
		between("price_cents", c.PriceCents, 0, MaxPriceCents),
		between("stock", c.Stock, 0, MaxStock),
	)
}

// Apply implements commands.Command.
func (c *AddProduct) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	if _, found, err := Products.Get(tx, c.SKU); err != nil || found {
		return nil, orErr(err, "product %s already exists", c.SKU)
	}
	return nil, Products.Insert(tx, Product{SKU: c.SKU, Name: c.Name, Category: c.Category, PriceCents: c.PriceCents, Stock: c.Stock})
}

// Restock adds stock to a product.
type Restock struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Validate implements commands.Command.
func (c *Restock) Validate() error {
	return errors.Join(text("sku", c.SKU, 64), between("quantity", c.Quantity, 1, MaxQuantity))
}

// Apply implements commands.Command.
func (c *Restock) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	p, err := product(tx, c.SKU)
	if err != nil {
		return nil, err
	}
	if p.Stock, err = checked.Add(p.Stock, c.Quantity); err != nil {
		return nil, fmt.Errorf("stock of sku %s plus quantity: %w", c.SKU, err)
	}
	return map[string]int64{"stock": p.Stock}, Products.Update(tx, p)
}

// ChangePrice sets a product's price for orders placed from now on.
type ChangePrice struct {
	SKU        string `json:"sku"`
	PriceCents int64  `json:"price_cents"`
}

// Validate implements commands.Command.
func (c *ChangePrice) Validate() error {
	return errors.Join(text("sku", c.SKU, 64), between("price_cents", c.PriceCents, 0, MaxPriceCents))
}

// Apply implements commands.Command.
func (c *ChangePrice) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	p, err := product(tx, c.SKU)
	if err != nil {
		return nil, err
	}
	p.PriceCents = c.PriceCents
	return nil, Products.Update(tx, p)
}

// PlaceOrder places an order at current prices, taking the stock.
type PlaceOrder struct {
	OrderID    string      `json:"order_id"`
	CustomerID string      `json:"customer_id"`
	Lines      []OrderItem `json:"lines"`
}

// OrderItem is one line of PlaceOrder.
type OrderItem struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// MaxOrderLines bounds the lines of one order.
const MaxOrderLines = 1000

// Bounds of the shop's amounts, checked by Validate: natural limits of a
// shop, far below int64's, so that a typo or an attack is refused with the
// field's name. They do not by themselves keep sums in range (MaxPriceCents
// times MaxQuantity does not fit in an int64): Apply computes with package
// checked, which refuses what would overflow.
const (
	// MaxPriceCents is the highest price: one billion in the currency.
	MaxPriceCents = 100_000_000_000
	// MaxQuantity is the most of a product one order line or restock
	// moves.
	MaxQuantity = 1_000_000_000
	// MaxStock is the most stock a product may be added with.
	MaxStock = 1_000_000_000_000_000
)

// Validate implements commands.Command.
func (c *PlaceOrder) Validate() error {
	errs := []error{
		text("order_id", c.OrderID, 64),
		text("customer_id", c.CustomerID, 64),
		check(len(c.Lines) > 0, "lines: an order needs at least one line"),
		check(len(c.Lines) <= MaxOrderLines, "lines: %d lines, at most %d", len(c.Lines), MaxOrderLines),
	}
	for i, l := range c.Lines {
		errs = append(errs,
			text(fmt.Sprintf("lines[%d].sku", i), l.SKU, 64),
			between(fmt.Sprintf("lines[%d].quantity", i), l.Quantity, 1, MaxQuantity))
	}
	return errors.Join(errs...)
}

// Apply implements commands.Command.
func (c *PlaceOrder) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	if _, found, err := Orders.Get(tx, c.OrderID); err != nil || found {
		return nil, orErr(err, "order %s already exists", c.OrderID)
	}
	if _, found, err := Customers.Get(tx, c.CustomerID); err != nil || !found {
		return nil, orErr(err, "unknown customer %s", c.CustomerID)
	}
	// The bounds of Validate keep a line's price times quantity small, but a
	// product's price may come from before they existed, and a thousand
	// lines add up: the total is checked, and an order that overflows it is
	// refused rather than logged with a wrapped, negative total.
	var total int64
	for i, l := range c.Lines {
		p, err := product(tx, l.SKU)
		if err != nil {
			return nil, err
		}
		if p.Stock < l.Quantity {
			return nil, fmt.Errorf("insufficient stock for sku %s: %d left, %d requested", l.SKU, p.Stock, l.Quantity)
		}
		p.Stock -= l.Quantity // no overflow: 0 < l.Quantity <= p.Stock
		amount, err := checked.Mul(p.PriceCents, l.Quantity)
		if err != nil {
			return nil, fmt.Errorf("lines[%d]: price_cents of sku %s times quantity: %w", i, l.SKU, err)
		}
		if total, err = checked.Add(total, amount); err != nil {
			return nil, fmt.Errorf("lines[%d]: total_cents of the order: %w", i, err)
		}
		if err := Products.Update(tx, p); err != nil {
			return nil, err
		}
		line := OrderLine{OrderID: c.OrderID, LineNo: int32(i + 1), SKU: l.SKU, Quantity: l.Quantity, PriceCents: p.PriceCents}
		if err := OrderLines.Insert(tx, line); err != nil {
			return nil, err
		}
	}
	order := Order{OrderID: c.OrderID, CustomerID: c.CustomerID, Status: StatusPlaced, TotalCents: total, PlacedAt: env.Time}
	if err := Orders.Insert(tx, order); err != nil {
		return nil, err
	}
	return map[string]any{"order_id": c.OrderID, "total_cents": total}, nil
}

// PayOrder records the payment of a placed order, for its exact total.
type PayOrder struct {
	OrderID     string `json:"order_id"`
	AmountCents int64  `json:"amount_cents"`
}

// Validate implements commands.Command.
func (c *PayOrder) Validate() error {
	return errors.Join(text("order_id", c.OrderID, 64), check(c.AmountCents >= 0, "amount_cents %d is negative", c.AmountCents))
}

// Apply implements commands.Command.
func (c *PayOrder) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	o, err := orderIn(tx, c.OrderID, StatusPlaced)
	if err != nil {
		return nil, err
	}
	if c.AmountCents != o.TotalCents {
		return nil, fmt.Errorf("order %s: amount_cents %d does not equal the total %d", c.OrderID, c.AmountCents, o.TotalCents)
	}
	o.Status, o.PaidAt = StatusPaid, &env.Time
	return nil, Orders.Update(tx, o)
}

// ShipOrder records that a paid order left the warehouse.
type ShipOrder struct {
	OrderID string `json:"order_id"`
}

// Validate implements commands.Command.
func (c *ShipOrder) Validate() error { return text("order_id", c.OrderID, 64) }

// Apply implements commands.Command.
func (c *ShipOrder) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	o, err := orderIn(tx, c.OrderID, StatusPaid)
	if err != nil {
		return nil, err
	}
	o.Status, o.ShippedAt = StatusShipped, &env.Time
	return nil, Orders.Update(tx, o)
}

// CancelOrder cancels a placed or paid order and puts its stock back.
type CancelOrder struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// Validate implements commands.Command.
func (c *CancelOrder) Validate() error {
	return errors.Join(text("order_id", c.OrderID, 64), text("reason", c.Reason, 500))
}

// Apply implements commands.Command.
func (c *CancelOrder) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	o, err := orderIn(tx, c.OrderID, StatusPlaced, StatusPaid)
	if err != nil {
		return nil, err
	}
	lines, err := orderLines(tx, c.OrderID)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		p, err := product(tx, l.SKU)
		if err != nil {
			return nil, err
		}
		if p.Stock, err = checked.Add(p.Stock, l.Quantity); err != nil {
			return nil, fmt.Errorf("putting back line %d: stock of sku %s plus quantity: %w", l.LineNo, l.SKU, err)
		}
		if err := Products.Update(tx, p); err != nil {
			return nil, err
		}
	}
	o.Status, o.CancelledAt, o.CancelReason = StatusCancelled, &env.Time, &c.Reason
	return nil, Orders.Update(tx, o)
}

func product(tx *memdb.Txn, sku string) (Product, error) {
	p, found, err := Products.Get(tx, sku)
	if err != nil || !found {
		return p, orErr(err, "unknown sku %s", sku)
	}
	return p, nil
}

func orderIn(tx *memdb.Txn, id string, statuses ...string) (Order, error) {
	o, found, err := Orders.Get(tx, id)
	if err != nil || !found {
		return o, orErr(err, "unknown order %s", id)
	}
	for _, s := range statuses {
		if o.Status == s {
			return o, nil
		}
	}
	return o, fmt.Errorf("order %s is %s, must be %s", id, o.Status, strings.Join(statuses, " or "))
}

// orderLines reads an order's lines: a prefix scan of the composite primary key.
func orderLines(tx *memdb.Txn, orderID string) ([]OrderLine, error) {
	pk := OrderLines.Table().Primary()
	prefix, err := pk.KeyPrefix(orderID)
	if err != nil {
		return nil, err
	}
	it, err := tx.Scan(pk, prefix)
	if err != nil {
		return nil, err
	}
	var lines []OrderLine
	for row, key := it.Next(); row != nil && hasPrefix(key, prefix); row, key = it.Next() {
		lines = append(lines, OrderLines.Value(row))
	}
	return lines, nil
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

// text checks a required string field and its length in characters.
func text(field, v string, max int) error {
	switch n := utf8.RuneCountInString(v); {
	case v == "":
		return fmt.Errorf("%s is required", field)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s is not valid UTF-8", field)
	case n > max:
		return fmt.Errorf("%s has %d characters, at most %d", field, n, max)
	}
	return nil
}

// between checks an integer field against its bounds; below them, the
// messages are those from before there were upper bounds.
func between(field string, v, lo, hi int64) error {
	switch {
	case v < lo && lo == 1:
		return fmt.Errorf("%s %d must be positive", field, v)
	case v < lo && lo == 0:
		return fmt.Errorf("%s %d is negative", field, v)
	case v < lo:
		return fmt.Errorf("%s %d is below the minimum of %d", field, v, lo)
	case v > hi:
		return fmt.Errorf("%s %d is over the maximum of %d", field, v, hi)
	}
	return nil
}

func check(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// orErr returns err if there is one, else a refusal with the given message.
func orErr(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return fmt.Errorf(format, args...)
}

func isLetters(s string) bool {
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}
