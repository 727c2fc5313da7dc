package tpcc

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/shopspring/decimal"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// The initial population (clause 4.3.3.1) as commands that carry a seed, not
// rows: Apply draws the rows from the seed. A warehouse at full scale is
// about 530,000 rows (stock 100,000, customers, history and orders 30,000
// each, order lines ~300,000, new orders 9,000); sent as rows over HTTP and
// logged, that would be ~150 MB of JSON and of log per warehouse, and replay
// would decode it all again. As seeds it is 21 log entries of ~100 bytes per
// warehouse and replay is as fast as the load. Batches are one district
// (~40,000 rows) or 10,000 items or stock rows, so that one command holds the
// writer for tens of milliseconds, not seconds, and the loader can keep
// several in flight.

// MaxLoadBatch bounds the items or stock rows one load command inserts.
const MaxLoadBatch = 10_000

// Bounds of the scale a load command accepts: far above the specification's
// (a district has 3,000 customers, the catalogue 100,000 items), far below
// what would overflow an INT or hold the writer for minutes.
const (
	MaxWarehouses = 10_000
	MaxCustomers  = 100_000
	MaxItems      = 1_000_000
)

// LoadItems inserts items First to First+Count-1 (clause 4.3.3.1, ITEM).
type LoadItems struct {
	First int32  `json:"first"`
	Count int32  `json:"count"`
	Seed  uint64 `json:"seed"`
}

// Validate implements commands.Command.
func (c *LoadItems) Validate() error {
	return errors.Join(between("first", int64(c.First), 1, MaxItems), between("count", int64(c.Count), 1, MaxLoadBatch),
		between("first+count-1", int64(c.First)+int64(c.Count)-1, 1, MaxItems))
}

// Apply implements commands.Command.
func (c *LoadItems) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	r := newRandom(c.Seed, 1)
	for i := c.First; i < c.First+c.Count; i++ {
		item := Item{ID: i, ImID: r.int32(1, 10_000), Name: r.aString(14, 24), Price: decimal.New(r.int64(100, 10_000), -2), Data: r.original()}
		if err := Items.Insert(tx, item); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	return nil, nil
}

// LoadWarehouse inserts a warehouse row. Its w_ytd is the sum of its
// districts' d_ytd (clause 3.3.2.1's first condition): 300,000.00 at full
// scale, 10.00 per customer of its districts at any scale.
type LoadWarehouse struct {
	WID                  int32  `json:"w_id"`
	CustomersPerDistrict int32  `json:"customers_per_district"`
	Seed                 uint64 `json:"seed"`
}

// Validate implements commands.Command.
func (c *LoadWarehouse) Validate() error {
	return errors.Join(between("w_id", int64(c.WID), 1, MaxWarehouses),
		between("customers_per_district", int64(c.CustomersPerDistrict), 1, MaxCustomers))
}

// Apply implements commands.Command.
func (c *LoadWarehouse) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	r := newRandom(c.Seed, 2)
	w := Warehouse{ID: c.WID, Name: r.aString(6, 10), Tax: r.tax(),
		YTD: initialYTD(c.CustomersPerDistrict).Mul(decimal.NewFromInt(DistrictsPerWarehouse))}
	w.Street1, w.Street2, w.City, w.State, w.Zip = r.address()
	if err := Warehouses.Insert(tx, w); err != nil {
		return nil, fmt.Errorf("warehouse %d: %w", c.WID, err)
	}
	return nil, nil
}

// initialYTD is a district's d_ytd after the load: the 10.00 of each
// customer's first payment, in history.
func initialYTD(customers int32) decimal.Decimal {
	return decimal.New(int64(customers)*1000, -2)
}

// LoadStock inserts the stock of items First to First+Count-1 in warehouse
// WID (clause 4.3.3.1, STOCK).
type LoadStock struct {
	WID   int32  `json:"w_id"`
	First int32  `json:"first"`
	Count int32  `json:"count"`
	Seed  uint64 `json:"seed"`
}

// Validate implements commands.Command.
func (c *LoadStock) Validate() error {
	return errors.Join(between("w_id", int64(c.WID), 1, MaxWarehouses), between("first", int64(c.First), 1, MaxItems),
		between("count", int64(c.Count), 1, MaxLoadBatch), between("first+count-1", int64(c.First)+int64(c.Count)-1, 1, MaxItems))
}

// Apply implements commands.Command.
func (c *LoadStock) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	r := newRandom(c.Seed, 3)
	for i := c.First; i < c.First+c.Count; i++ {
		s := StockRow{IID: i, WID: c.WID, Quantity: r.int32(10, 100),
			Dist01: r.aString(24, 24), Dist02: r.aString(24, 24), Dist03: r.aString(24, 24), Dist04: r.aString(24, 24), Dist05: r.aString(24, 24),
			Dist06: r.aString(24, 24), Dist07: r.aString(24, 24), Dist08: r.aString(24, 24), Dist09: r.aString(24, 24), Dist10: r.aString(24, 24),
			Data: r.original()}
		if err := Stock.Insert(tx, s); err != nil {
			return nil, fmt.Errorf("stock of item %d in warehouse %d: %w", i, c.WID, err)
		}
	}
	return nil, nil
}

// LoadDistrict inserts a district of warehouse WID with its customers, their
// history, its orders with their lines, and the undelivered last 30% of
// them in new_order (clause 4.3.3.1). Customers is the number of customers
// and of orders (3,000 at full scale); Items the catalogue's size the order
// lines draw from; CLoad the constant C of NURand for C_LAST (clause
// 2.1.6), which the driver's run-time constant must differ from as clause
// 2.1.6.1 says.
type LoadDistrict struct {
	WID       int32  `json:"w_id"`
	DID       int32  `json:"d_id"`
	Customers int32  `json:"customers"`
	Items     int32  `json:"items"`
	CLoad     int32  `json:"c_load"`
	Seed      uint64 `json:"seed"`
}

// Validate implements commands.Command.
func (c *LoadDistrict) Validate() error {
	return errors.Join(between("w_id", int64(c.WID), 1, MaxWarehouses), between("d_id", int64(c.DID), 1, DistrictsPerWarehouse),
		between("customers", int64(c.Customers), 1, MaxCustomers), between("items", int64(c.Items), 1, MaxItems),
		between("c_load", int64(c.CLoad), 0, 255))
}

// Apply implements commands.Command.
func (c *LoadDistrict) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	if _, found, err := Warehouses.Get(tx, c.WID); err != nil || !found {
		return nil, orErr(err, "unknown warehouse %d: load it first", c.WID)
	}
	r := newRandom(c.Seed, 4)
	d := District{ID: c.DID, WID: c.WID, Name: r.aString(6, 10), Tax: r.tax(), YTD: initialYTD(c.Customers), NextOID: c.Customers + 1}
	d.Street1, d.Street2, d.City, d.State, d.Zip = r.address()
	if err := Districts.Insert(tx, d); err != nil {
		return nil, fmt.Errorf("district %d of warehouse %d: %w", c.DID, c.WID, err)
	}
	for id := int32(1); id <= c.Customers; id++ {
		if err := c.customer(tx, r, id, env); err != nil {
			return nil, err
		}
	}
	// Orders go to the customers in a random permutation (o_c_id), the last
	// 30% are undelivered: no carrier, no delivery date, a new_order row.
	firstNew := c.Customers - c.Customers*3/10 + 1
	perm := r.Perm(int(c.Customers))
	for i, cid := range perm {
		if err := c.order(tx, r, int32(i+1), int32(cid+1), int32(i+1) >= firstNew, env); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (c *LoadDistrict) customer(tx *memdb.Txn, r *random, id int32, env *commands.Envelope) error {
	// The first 1,000 customers' last names run through every syllable
	// combination; the others are drawn by NURand (clause 4.3.2.3).
	n := int(id - 1)
	if id > 1000 {
		n = NURand(r.Rand, 255, 0, 999, int(c.CLoad))
	}
	cu := Customer{ID: id, DID: c.DID, WID: c.WID, First: r.aString(8, 16), Middle: "OE", Last: LastName(n),
		Phone: r.nString(16, 16), Since: env.Time, Credit: "GC", CreditLim: decimal.New(5_000_000, -2),
		Discount: decimal.New(r.int64(0, 5000), -4), Balance: decimal.New(-1000, -2), YTDPayment: decimal.New(1000, -2),
		PaymentCnt: 1, Data: r.aString(300, 500)}
	if r.IntN(10) == 0 {
		cu.Credit = "BC"
	}
	cu.Street1, cu.Street2, cu.City, cu.State, cu.Zip = r.address()
	if err := Customers.Insert(tx, cu); err != nil {
		return fmt.Errorf("customer %d of district %d, warehouse %d: %w", id, c.DID, c.WID, err)
	}
	h := HistoryRow{Seq: int64(env.Seq), CID: id, CDID: c.DID, CWID: c.WID, DID: c.DID, WID: c.WID, Date: env.Time,
		Amount: decimal.New(1000, -2), Data: r.aString(12, 24)}
	return History.Insert(tx, h)
}

func (c *LoadDistrict) order(tx *memdb.Txn, r *random, oid, cid int32, undelivered bool, env *commands.Envelope) error {
	o := Order{ID: oid, DID: c.DID, WID: c.WID, CID: cid, EntryD: env.Time, OLCnt: r.int32(5, 15), AllLocal: 1}
	delivered := &env.Time
	if undelivered {
		delivered = nil
		if err := NewOrders.Insert(tx, NewOrderRow{OID: oid, DID: c.DID, WID: c.WID}); err != nil {
			return err
		}
	} else {
		carrier := r.int32(1, 10)
		o.CarrierID = &carrier
	}
	if err := Orders.Insert(tx, o); err != nil {
		return err
	}
	for n := int32(1); n <= o.OLCnt; n++ {
		amount := decimal.Zero
		if undelivered {
			amount = decimal.New(r.int64(1, 999_999), -2)
		}
		line := OrderLine{OID: oid, DID: c.DID, WID: c.WID, Number: n, IID: r.int32(1, c.Items), SupplyWID: c.WID,
			DeliveryD: delivered, Quantity: 5, Amount: amount, DistInfo: r.aString(24, 24)}
		if err := OrderLines.Insert(tx, line); err != nil {
			return err
		}
	}
	return nil
}

// random draws the population's values (clause 4.3.2) from a seed.
type random struct{ *rand.Rand }

// newRandom is PCG from the payload's seed; stream keeps the commands'
// sequences apart when a loader gives them the same seed.
func newRandom(seed, stream uint64) *random {
	return &random{rand.New(rand.NewPCG(seed, stream))}
}

func (r *random) int64(lo, hi int64) int64 { return lo + r.Int64N(hi-lo+1) }
func (r *random) int32(lo, hi int32) int32 { return lo + r.Int32N(hi-lo+1) }

const alphanumeric = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// aString is a random a-string of lo to hi characters (clause 4.3.2.2).
func (r *random) aString(lo, hi int) string { return r.chars(alphanumeric, lo, hi) }

// nString is a random n-string (digits) of lo to hi characters.
func (r *random) nString(lo, hi int) string { return r.chars("0123456789", lo, hi) }

func (r *random) chars(set string, lo, hi int) string {
	b := make([]byte, lo+r.IntN(hi-lo+1))
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// original is i_data or s_data: an a-string of 26 to 50 characters, in
// 10% of rows holding "ORIGINAL" at a random place (clause 4.3.3.1).
func (r *random) original() string {
	s := r.aString(26, 50)
	if r.IntN(10) != 0 {
		return s
	}
	at := r.IntN(len(s) - len("ORIGINAL") + 1)
	return s[:at] + "ORIGINAL" + s[at+len("ORIGINAL"):]
}

// address is street 1 and 2, city, state and zip (clause 4.3.2.7: four
// random digits and "11111").
func (r *random) address() (street1, street2, city, state, zip string) {
	return r.aString(10, 20), r.aString(10, 20), r.aString(10, 20), r.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2, 2), r.nString(4, 4) + "11111"
}

// tax is a rate from 0.0000 to 0.2000.
func (r *random) tax() decimal.Decimal { return decimal.New(r.int64(0, 2000), -4) }

var syllables = [...]string{"BAR", "OUGHT", "ABLE", "PRI", "PRES", "ESE", "ANTI", "CALLY", "ATION", "EING"}

// LastName is C_LAST for a number from 0 to 999: its three digits'
// syllables (clause 4.3.2.3).
func LastName(n int) string {
	return syllables[n/100%10] + syllables[n/10%10] + syllables[n%10]
}

// NURand is the specification's non-uniform random number from x to y
// (clause 2.1.6): ((random(0, A) | random(x, y)) + C) % (y - x + 1) + x.
func NURand(r *rand.Rand, a, x, y, c int) int {
	return ((r.IntN(a+1)|(x+r.IntN(y-x+1)))+c)%(y-x+1) + x
}

// between checks an integer field against its bounds.
func between(field string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d is out of range: want %d to %d", field, v, lo, hi)
	}
	return nil
}

// orErr returns err if there is one, else a refusal with the given message.
func orErr(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return fmt.Errorf(format, args...)
}
