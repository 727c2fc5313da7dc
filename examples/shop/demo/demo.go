// Package demo plans a realistic shop for `imago demo load`: a catalogue of
// products in categories, customers across countries, and orders that go
// through their lifecycle: placed, then paid and shipped, or cancelled. Some
// customers and products are far more popular than others, as in a real
// shop, so that BI queries have something to find.
//
// The shop has a history over a period (Options.Start to End, see
// timeline.go): customers register over it, more as the shop grows; orders
// follow growth, seasons (a December peak), weekdays and the hours of the
// day; each is paid hours later, shipped days later, or cancelled, and what
// would happen after End has not happened yet. Plan.Timeline gives the
// commands with their times, for an import of history; Plan.Serial the
// same commands without them.
//
// A plan is a pure function of its options: the same seed gives the same
// shop. Ids carry the plan's prefix so that several loads into one server do
// not collide.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/imagodb/imago/examples/shop"
)

// Options size a plan.
type Options struct {
	Customers, Products, Orders int
	Seed                        uint64
	Prefix                      string // makes ids and emails unique to this load
	// Start and End bound the shop's history (zero End: DefaultEnd; zero
	// Start: a year before End).
	Start, End time.Time
}

// DefaultEnd is the end of a history whose Options give none: a fixed
// instant, so that a plan stays a function of its options.
var DefaultEnd = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Order is one order and what happens to it after it is placed. A paid order
// is paid its exact total, which the shop tells when it is placed. The times
// of the steps that happen are set; a step after the plan's End does not
// happen (nor those after it).
type Order struct {
	Place  shop.PlaceOrder
	Pay    bool
	Ship   bool   // after paying
	Cancel string // the reason, if it is cancelled (after paying, if Pay)

	PlacedAt, PaidAt, ShippedAt, CancelledAt time.Time
}

// Plan is a shop to load: products and customers first, then the orders.
type Plan struct {
	Products  []shop.AddProduct
	Customers []shop.RegisterCustomer
	Orders    []Order
	// Start and End are the history's period; Registered[i] is when
	// Customers[i] registers (in order), AddedAt when the products are added.
	Start, End time.Time
	AddedAt    time.Time
	Registered []time.Time
}

// Commands is the number of commands the plan submits (restocks aside).
func (p *Plan) Commands() int {
	n := len(p.Products) + len(p.Customers)
	for _, o := range p.Orders {
		n++
		for _, step := range []bool{o.Pay, o.Ship, o.Cancel != ""} {
			if step {
				n++
			}
		}
	}
	return n
}

// New plans a shop.
func New(o Options) *Plan {
	rng := rand.New(rand.NewPCG(o.Seed, 0xdeb0))
	p := &Plan{End: o.End, Start: o.Start}
	if p.End.IsZero() {
		p.End = DefaultEnd
	}
	if p.Start.IsZero() || !p.Start.Before(p.End) {
		p.Start = p.End.AddDate(-1, 0, 0)
	}
	p.Start, p.End = p.Start.UTC().Truncate(time.Microsecond), p.End.UTC().Truncate(time.Microsecond)
	p.AddedAt = p.Start
	for i := range o.Products {
		p.Products = append(p.Products, product(rng, o.Prefix, i))
	}
	for i := range o.Customers {
		p.Customers = append(p.Customers, customer(rng, o.Prefix, i))
	}
	p.Registered = p.registrations(rng, o.Customers)
	if o.Customers == 0 || o.Products == 0 {
		return p
	}
	placed := p.sample(rng, o.Orders, p.Start.Add(p.span()/100))
	for i := range o.Orders {
		p.Orders = append(p.Orders, p.order(rng, o.Prefix, i, placed[i]))
	}
	return p
}

var categories = []struct {
	name   string
	nouns  []string
	cents  int64 // typical price
	weight int
}{
	{"kitchen", []string{"Mug", "Kettle", "Frying Pan", "Chef's Knife", "Salad Bowl", "Teapot"}, 2500, 20},
	{"books", []string{"Cookbook", "Novel", "Atlas", "Field Guide", "Poetry Collection"}, 1800, 18},
	{"garden", []string{"Watering Can", "Pruning Shears", "Planter", "Hose", "Bird Feeder"}, 3500, 10},
	{"office", []string{"Notebook", "Desk Lamp", "Fountain Pen", "Monitor Stand", "Stapler"}, 2200, 14},
	{"sports", []string{"Yoga Mat", "Running Shoes", "Water Bottle", "Tennis Racket", "Dumbbell Set"}, 4500, 12},
	{"toys", []string{"Puzzle", "Building Blocks", "Kite", "Board Game", "Plush Bear"}, 2000, 11},
	{"electronics", []string{"Headphones", "Charger", "Speaker", "Keyboard", "Webcam"}, 6500, 15},
}

var adjectives = []string{"Classic", "Compact", "Deluxe", "Eco", "Smart", "Vintage", "Pro", "Everyday", "Nordic", "Travel"}

func product(rng *rand.Rand, prefix string, i int) shop.AddProduct {
	c := categories[weighted(rng, len(categories), func(i int) int { return categories[i].weight })]
	name := fmt.Sprintf("%s %s", adjectives[rng.IntN(len(adjectives))], c.nouns[rng.IntN(len(c.nouns))])
	// Prices spread around the category's typical one, ending in 99 cents.
	price := int64(float64(c.cents)*math.Exp(rng.NormFloat64()*0.5))/100*100 + 99
	return shop.AddProduct{SKU: fmt.Sprintf("%s-%s-%04d", prefix, c.name[:3], i), Name: name, Category: c.name,
		PriceCents: price, Stock: int64(20 + rng.IntN(180))}
}

var (
	firstNames = []string{"Anna", "Ben", "Chloé", "David", "Emma", "Felix", "Grace", "Hiro", "Isabel", "Jonas", "Kenji", "Lena",
		"Mateo", "Nora", "Oliver", "Priya", "Quentin", "Rosa", "Sofia", "Tom", "Uma", "Viktor", "Wei", "Yara", "Zoe"}
	lastNames = []string{"Müller", "Smith", "Dubois", "Tanaka", "Silva", "de Vries", "Rossi", "García", "Kowalski", "Johnson",
		"Schmidt", "Martin", "Sato", "Santos", "Jansen", "Bianchi", "López", "Nowak", "Brown", "Weber"}
	countries = []struct {
		code   string
		weight int
	}{{"US", 30}, {"DE", 15}, {"GB", 12}, {"FR", 10}, {"JP", 8}, {"BR", 6}, {"NL", 5}, {"IT", 5}, {"ES", 5}, {"IN", 4}}
)

func customer(rng *rand.Rand, prefix string, i int) shop.RegisterCustomer {
	first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
	local := strings.ToLower(strings.NewReplacer(" ", "", "é", "e", "ü", "u", "í", "i", "ó", "o").Replace(first + "." + last))
	country := countries[weighted(rng, len(countries), func(i int) int { return countries[i].weight })].code
	return shop.RegisterCustomer{CustomerID: fmt.Sprintf("%s-c%06d", prefix, i), Name: first + " " + last,
		Email: fmt.Sprintf("%s.%d@%s.example.com", local, i, prefix), Country: country}
}

var cancelReasons = []string{"changed my mind", "found it cheaper elsewhere", "ordered by mistake", "delivery too slow", "payment problem"}

func (p *Plan) order(rng *rand.Rand, prefix string, i int, at time.Time) Order {
	// Skewed picks: a few customers order often (the early ones: loyal), a
	// few products sell most. Only customers registered by then order.
	c := p.Customers[skewed(rng, p.registeredBy(at))]
	o := Order{Place: shop.PlaceOrder{OrderID: fmt.Sprintf("%s-o%07d", prefix, i), CustomerID: c.CustomerID}, PlacedAt: at}
	seen := map[int]bool{}
	for n := 1 + rng.IntN(4); len(o.Place.Lines) < n && len(seen) < len(p.Products); {
		k := skewed(rng, len(p.Products))
		if seen[k] {
			continue
		}
		seen[k] = true
		o.Place.Lines = append(o.Place.Lines, shop.OrderItem{SKU: p.Products[k].SKU, Quantity: int64(1 + rng.IntN(3))})
	}
	switch r := rng.IntN(100); {
	case r < 5: // cancelled before paying
		o.Cancel = cancelReasons[rng.IntN(len(cancelReasons))]
	case r < 10: // paid, then cancelled
		o.Pay, o.Cancel = true, cancelReasons[rng.IntN(len(cancelReasons))]
	case r < 25: // still waiting for payment
	case r < 45: // paid, not shipped yet
		o.Pay = true
	default:
		o.Pay, o.Ship = true, true
	}
	p.schedule(rng, &o)
	return o
}

// skewed picks an index in [0, n) with the low ones far more likely.
func skewed(rng *rand.Rand, n int) int {
	f := rng.Float64()
	return int(f * f * float64(n))
}

// weighted picks an index in [0, n) in proportion to weight(i).
func weighted(rng *rand.Rand, n int, weight func(int) int) int {
	total := 0
	for i := range n {
		total += weight(i)
	}
	r := rng.IntN(total)
	for i := range n {
		if r -= weight(i); r < 0 {
			return i
		}
	}
	return n - 1
}
