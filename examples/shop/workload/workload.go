// Package workload generates shop commands for tests, benchmarks and the
// demo: a catalogue and customers to start with, then a random mix of orders,
// payments, shipments, cancellations and catalogue changes, some of which the
// shop refuses (sold-out stock, wrong amounts, orders in the wrong state).
package workload

import (
	"fmt"
	"math/rand/v2"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
)

// Generator produces commands. It is not safe for concurrent use: give each
// goroutine its own, with a distinct name so their order ids do not collide.
type Generator struct {
	name      string
	rng       *rand.Rand
	customers int
	products  int
	orders    []string         // ids of orders this generator placed (or tried to)
	totals    map[string]int64 // what each of those orders should cost
	prices    map[int]int64    // the prices this generator believes products have
	next      int
}

// New returns a generator over a catalogue of products SKUs and customers.
func New(name string, seed uint64, customers, products int) *Generator {
	return &Generator{name: name, rng: rand.New(rand.NewPCG(seed, 0x1a60)), customers: customers, products: products,
		totals: map[string]int64{}, prices: map[int]int64{}}
}

// initialPrice is the price Setup gives product i.
func initialPrice(i int) int64 { return int64(100 + i%50*25) }

func (g *Generator) price(i int) int64 {
	if p, ok := g.prices[i]; ok {
		return p
	}
	return initialPrice(i)
}

// Setup returns the commands that create the customers and products.
func Setup(customers, products int) []commands.Command {
	var cmds []commands.Command
	for i := 0; i < products; i++ {
		cmds = append(cmds, &shop.AddProduct{
			SKU: SKU(i), Name: fmt.Sprintf("Product %d", i), Category: fmt.Sprintf("category-%d", i%10),
			PriceCents: initialPrice(i), Stock: 1000,
		})
	}
	countries := []string{"DE", "FR", "US", "JP", "BR", "NL", "IT", "ES"}
	for i := 0; i < customers; i++ {
		cmds = append(cmds, &shop.RegisterCustomer{
			CustomerID: CustomerID(i), Name: fmt.Sprintf("Customer %d", i),
			Email: fmt.Sprintf("customer%d@example.com", i), Country: countries[i%len(countries)],
		})
	}
	return cmds
}

// SKU is the sku of product i.
func SKU(i int) string { return fmt.Sprintf("sku-%05d", i) }

// CustomerID is the id of customer i.
func CustomerID(i int) string { return fmt.Sprintf("c-%06d", i) }

// Next returns the next command of the mix.
func (g *Generator) Next() commands.Command {
	switch r := g.rng.IntN(100); {
	case r < 50 || len(g.orders) == 0:
		return g.PlaceOrder()
	case r < 70:
		// Pay what the generator believes the total is, and now and then a
		// wrong amount. Price changes by other generators make some of those
		// beliefs wrong too: the shop refuses those payments.
		id := g.someOrder()
		amount := g.totals[id]
		if g.rng.IntN(10) == 0 {
			amount++
		}
		return &shop.PayOrder{OrderID: id, AmountCents: amount}
	case r < 80:
		return &shop.ShipOrder{OrderID: g.someOrder()}
	case r < 88:
		return &shop.CancelOrder{OrderID: g.someOrder(), Reason: "changed my mind"}
	case r < 95:
		return &shop.Restock{SKU: SKU(g.rng.IntN(g.products)), Quantity: int64(1 + g.rng.IntN(100))}
	default:
		i := g.rng.IntN(g.products)
		g.prices[i] = int64(100 + g.rng.IntN(50)*25)
		return &shop.ChangePrice{SKU: SKU(i), PriceCents: g.prices[i]}
	}
}

// PlaceOrder returns a new order of one to three lines.
func (g *Generator) PlaceOrder() *shop.PlaceOrder {
	g.next++
	id := fmt.Sprintf("o-%s-%d", g.name, g.next)
	g.orders = append(g.orders, id)
	lines := make([]shop.OrderItem, 1+g.rng.IntN(3))
	for i := range lines {
		p, q := g.rng.IntN(g.products), int64(1+g.rng.IntN(5))
		lines[i] = shop.OrderItem{SKU: SKU(p), Quantity: q}
		g.totals[id] += g.price(p) * q
	}
	return &shop.PlaceOrder{OrderID: id, CustomerID: CustomerID(g.rng.IntN(g.customers)), Lines: lines}
}

func (g *Generator) someOrder() string { return g.orders[g.rng.IntN(len(g.orders))] }

// BenchSetup creates one customer and 100 products whose stock never runs
// out, so that every BenchOrder is accepted: the setup of throughput benchmarks.
func BenchSetup() []commands.Command {
	cmds := []commands.Command{&shop.RegisterCustomer{CustomerID: "bench", Name: "Bench", Email: "bench@example.com", Country: "DE"}}
	for i := 0; i < 100; i++ {
		cmds = append(cmds, &shop.AddProduct{SKU: SKU(i), Name: "P", Category: "c", PriceCents: 100, Stock: shop.MaxStock})
	}
	return cmds
}

// BenchOrder is the n-th order of a benchmark after BenchSetup: three lines,
// the size the write targets speak of. n must be unique per order.
func BenchOrder(n int64) *shop.PlaceOrder {
	return &shop.PlaceOrder{OrderID: fmt.Sprintf("bench-%d", n), CustomerID: "bench", Lines: []shop.OrderItem{
		{SKU: SKU(int(n % 100)), Quantity: 1},
		{SKU: SKU(int((n + 33) % 100)), Quantity: 2},
		{SKU: SKU(int((n + 66) % 100)), Quantity: 3},
	}}
}
