package demo

import (
	"iter"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
)

// How busy the shop is, relative to the rest of the history: it grows
// threefold over the period, peaks before Christmas, sells more at weekends
// and in the evening, little at night.
var (
	monthWeight = [13]float64{0, 0.8, 0.75, 0.9, 0.95, 1, 0.9, 0.85, 0.85, 1, 1.1, 1.4, 1.8}
	hourWeight  = [24]float64{0.25, 0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 1, 1.1, 1, 0.9, 0.9, 1, 1.1, 1.3, 1.5, 1.6, 1.4, 1, 0.5}
)

const (
	growth        = 2.0 // the last day is 1+growth times as busy as the first
	weekendWeight = 1.3
)

func (p *Plan) span() time.Duration { return p.End.Sub(p.Start) }

// weight is how busy the shop is at t.
func (p *Plan) weight(t time.Time) float64 {
	w := (1 + growth*float64(t.Sub(p.Start))/float64(p.span())) * monthWeight[t.Month()] * hourWeight[t.Hour()]
	if d := t.Weekday(); d == time.Saturday || d == time.Sunday {
		w *= weekendWeight
	}
	return w
}

// sample draws n times in [from, End) with the density weight, sorted.
func (p *Plan) sample(rng *rand.Rand, n int, from time.Time) []time.Time {
	top := (1 + growth) * slices.Max(monthWeight[:]) * slices.Max(hourWeight[:]) * weekendWeight
	span := p.End.Sub(from)
	out := make([]time.Time, 0, n)
	for len(out) < n && span > 0 {
		t := from.Add(time.Duration(rng.Int64N(int64(span))))
		if rng.Float64()*top < p.weight(t) {
			out = append(out, t.Truncate(time.Microsecond))
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// registrations are when the customers register: a twentieth of them as
// the shop opens (a second apart), the others over the period as it grows.
func (p *Plan) registrations(rng *rand.Rand, n int) []time.Time {
	first := min(n, max(1, n/20))
	out := make([]time.Time, 0, n)
	for i := range first {
		out = append(out, p.Start.Add(time.Duration(i)*time.Second))
	}
	return append(out, p.sample(rng, n-first, p.Start.Add(time.Duration(first)*time.Second))...)
}

// registeredBy is the number of customers registered at or before t.
func (p *Plan) registeredBy(t time.Time) int {
	return max(1, sort.Search(len(p.Registered), func(i int) bool { return p.Registered[i].After(t) }))
}

// after is t plus d, to the microsecond.
func after(t time.Time, d time.Duration) time.Time { return t.Add(d).Truncate(time.Microsecond) }

// exponential draws a duration of the given mean.
func exponential(rng *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(rng.ExpFloat64() * float64(mean))
}

// schedule times the steps of o after its placing: paid within hours,
// shipped one to four days after, cancelled within a day (unpaid) or days
// after paying. A step past End has not happened, nor those after it.
func (p *Plan) schedule(rng *rand.Rand, o *Order) {
	if o.Pay {
		if o.PaidAt = after(o.PlacedAt, time.Minute+exponential(rng, 3*time.Hour)); o.PaidAt.After(p.End) {
			o.Pay, o.Ship, o.Cancel, o.PaidAt = false, false, "", time.Time{}
			return
		}
	}
	if o.Ship {
		if o.ShippedAt = after(o.PaidAt, 24*time.Hour+time.Duration(rng.Int64N(int64(72*time.Hour)))); o.ShippedAt.After(p.End) {
			o.Ship, o.ShippedAt = false, time.Time{}
		}
	}
	if o.Cancel != "" {
		o.CancelledAt = after(o.PlacedAt, 5*time.Minute+exponential(rng, 12*time.Hour))
		if o.Pay {
			o.CancelledAt = after(o.PaidAt, 24*time.Hour+time.Duration(rng.Int64N(int64(96*time.Hour))))
		}
		if o.CancelledAt.After(p.End) {
			o.Cancel, o.CancelledAt = "", time.Time{}
		}
	}
}

// step is one command of the timeline before it is built.
type step struct {
	at    time.Time
	kind  int // what: one of the step kinds below
	index int // of the product, customer or order
}

const (
	addProduct = iota
	registerCustomer
	placeOrder
	payOrder
	shipOrder
	cancelOrder
)

// steps are the plan's commands (restocks aside) in time order: a step at
// the same time as another comes after it if it was planned after it.
func (p *Plan) steps() []step {
	var out []step
	for i := range p.Products {
		out = append(out, step{p.AddedAt, addProduct, i})
	}
	for i := range p.Customers {
		out = append(out, step{p.Registered[i], registerCustomer, i})
	}
	for i, o := range p.Orders {
		out = append(out, step{o.PlacedAt, placeOrder, i})
		if o.Pay {
			out = append(out, step{o.PaidAt, payOrder, i})
		}
		if o.Ship {
			out = append(out, step{o.ShippedAt, shipOrder, i})
		}
		if o.Cancel != "" {
			out = append(out, step{o.CancelledAt, cancelOrder, i})
		}
	}
	slices.SortStableFunc(out, func(a, b step) int { return a.at.Compare(b.at) })
	return out
}

// Timeline is the plan's history: every command with its time, in time
// order, as the shop accepts them. A product that an order would sell out
// is restocked (200 more than the line asks) just before it, at the same
// time. Each paid order is paid its exact total.
func (p *Plan) Timeline() iter.Seq2[commands.Command, time.Time] {
	return func(yield func(commands.Command, time.Time) bool) {
		stock := make(map[string]int64, len(p.Products))
		price := make(map[string]int64, len(p.Products))
		total := make([]int64, len(p.Orders))
		for _, s := range p.steps() {
			var cmd commands.Command
			switch s.kind {
			case addProduct:
				c := p.Products[s.index]
				stock[c.SKU], price[c.SKU] = c.Stock, c.PriceCents
				cmd = &c
			case registerCustomer:
				c := p.Customers[s.index]
				cmd = &c
			case placeOrder:
				o := &p.Orders[s.index]
				for _, l := range o.Place.Lines {
					if stock[l.SKU] < l.Quantity {
						restock := &shop.Restock{SKU: l.SKU, Quantity: 200 + l.Quantity}
						stock[l.SKU] += restock.Quantity
						if !yield(restock, s.at) {
							return
						}
					}
					stock[l.SKU] -= l.Quantity
					total[s.index] += price[l.SKU] * l.Quantity
				}
				place := o.Place
				cmd = &place
			case payOrder:
				cmd = &shop.PayOrder{OrderID: p.Orders[s.index].Place.OrderID, AmountCents: total[s.index]}
			case shipOrder:
				cmd = &shop.ShipOrder{OrderID: p.Orders[s.index].Place.OrderID}
			case cancelOrder:
				o := p.Orders[s.index]
				for _, l := range o.Place.Lines {
					stock[l.SKU] += l.Quantity
				}
				cmd = &shop.CancelOrder{OrderID: o.Place.OrderID, Reason: o.Cancel}
			}
			if !yield(cmd, s.at) {
				return
			}
		}
	}
}
