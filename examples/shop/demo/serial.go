package demo

import (
	"iter"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
)

// Serial is the plan as one sequence of commands the shop accepts in this
// order: the products, the customers, then each order's steps (place, pay for
// its exact total, ship or cancel). A product that an order would sell out is
// first restocked with 200 more than the line asks, as `imago demo load` does.
// It is what a log written by one client, one command at a time, holds:
// benchmarks generate logs from it without running the shop.
func (p *Plan) Serial() iter.Seq[commands.Command] {
	return func(yield func(commands.Command) bool) {
		stock := make(map[string]int64, len(p.Products))
		price := make(map[string]int64, len(p.Products))
		for i := range p.Products {
			c := p.Products[i]
			stock[c.SKU], price[c.SKU] = c.Stock, c.PriceCents
			if !yield(&c) {
				return
			}
		}
		for i := range p.Customers {
			c := p.Customers[i]
			if !yield(&c) {
				return
			}
		}
		for _, o := range p.Orders {
			var total int64
			for _, l := range o.Place.Lines {
				if stock[l.SKU] < l.Quantity {
					restock := &shop.Restock{SKU: l.SKU, Quantity: 200 + l.Quantity}
					stock[l.SKU] += restock.Quantity
					if !yield(restock) {
						return
					}
				}
				stock[l.SKU] -= l.Quantity
				total += price[l.SKU] * l.Quantity
			}
			place := o.Place
			if !yield(&place) {
				return
			}
			if o.Pay && !yield(&shop.PayOrder{OrderID: o.Place.OrderID, AmountCents: total}) {
				return
			}
			if o.Ship && !yield(&shop.ShipOrder{OrderID: o.Place.OrderID}) {
				return
			}
			if o.Cancel != "" {
				for _, l := range o.Place.Lines {
					stock[l.SKU] += l.Quantity
				}
				if !yield(&shop.CancelOrder{OrderID: o.Place.OrderID, Reason: o.Cancel}) {
					return
				}
			}
		}
	}
}
