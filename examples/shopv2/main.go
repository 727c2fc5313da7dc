// Command shopv2 is the shop's next version, the worked example of
// "Changing your app" in the README: restock gains a reason (v2, with the
// upcaster that reads v1 entries and v1 clients), and place_order rounds
// the order's total to ten cents (a change `imago replay` and `imago diff`
// prove against the previous build).
package main

import (
	"errors"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/cli"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/migrations"
)

// Restock is restock v2: v1's fields and why the stock came.
type Restock struct {
	shop.Restock
	Reason string `json:"reason"`
}

// Validate implements commands.Command.
func (c *Restock) Validate() error {
	return errors.Join(c.Restock.Validate(), func() error {
		if c.Reason == "" {
			return errors.New("reason: say why the stock came")
		}
		return nil
	}())
}

// PlaceOrder rounds the total to ten cents, half up.
type PlaceOrder struct{ shop.PlaceOrder }

// Apply implements commands.Command.
func (c *PlaceOrder) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
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

// App is the shop, version 2.
func App() *imago.App {
	app := shop.App()
	app.ProjectionVersion = 2 // place_order's Apply changed: rebuild images
	for i, d := range app.Commands {
		switch d.Name {
		case "restock":
			app.Commands[i] = commands.Define[Restock]("restock", 2)
		case "place_order":
			app.Commands[i] = commands.Define[PlaceOrder]("place_order", 1)
		}
	}
	app.Upcasters = []migrations.Upcaster{
		migrations.Up("restock", 1, func(p map[string]any) error {
			p["reason"] = "before reasons were recorded"
			return nil
		}),
	}
	return app
}

func main() { cli.Main(App()) }
