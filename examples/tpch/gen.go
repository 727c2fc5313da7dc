package tpch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pingcap/go-tpc/tpch/dbgen"
	"github.com/shopspring/decimal"

	"github.com/imagodb/imago/commands"
)

// Data is a generated TPC-H database, as load commands.
type Data struct {
	Regions   LoadRegions
	Nations   LoadNations
	Suppliers []LoadSuppliers
	Parts     []LoadParts
	Customers []LoadCustomers
	Orders    []LoadOrders
	// Rows counts the rows of every table.
	Rows int
}

// Commands are the loads in order (each table's keys exist before rows
// that name them).
func (d *Data) Commands() []commands.Command {
	out := []commands.Command{&d.Regions, &d.Nations}
	for i := range d.Suppliers {
		out = append(out, &d.Suppliers[i])
	}
	for i := range d.Parts {
		out = append(out, &d.Parts[i])
	}
	for i := range d.Customers {
		out = append(out, &d.Customers[i])
	}
	for i := range d.Orders {
		out = append(out, &d.Orders[i])
	}
	return out
}

// errEnough stops dbgen once a table has the rows wanted.
var errEnough = errors.New("enough rows")

var initTook time.Duration

// genMu: dbgen keeps its state in package variables.
var genMu sync.Mutex

// Generate makes the data of scale factor sf (0.01 to 1) with the
// specification's generator (go-tpc's port of dbgen), which takes whole
// scale factors only: it runs at scale 1 and keeps the first sf of each
// table's rows (customers, parts, suppliers, orders with their lines),
// folding the keys rows name into the kept range with the specification's
// own formulas at that size: a customer key modulo the customers kept (a
// multiple of 3, so the third of customers without orders stays without),
// a part key modulo the parts kept, a supplier by the part-supplier bridge
// of the smaller supplier count, prices from the part's retail price. The
// distributions of values (dates, flags, comments, ...) are dbgen's.
func Generate(sf float64) (*Data, error) {
	// Below 0.01 (100 suppliers) the bridge gives a part the same supplier
	// twice; 0.01 is also the specification's smallest.
	if !(sf >= 0.01 && sf <= 1) {
		return nil, fmt.Errorf("scale factor %v: want 0.01 to 1", sf)
	}
	genMu.Lock()
	defer genMu.Unlock()
	g := &generator{
		customers: fold(150000, sf, 3), parts: fold(200000, sf, 1), suppliers: fold(10000, sf, 4), orders: int(1500000 * sf),
		d: &Data{}, retail: map[int64]decimal.Decimal{},
	}
	stdout := os.Stdout // dbgen prints its progress there: silenced while it runs
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	os.Stdout = devnull
	defer func() { os.Stdout = stdout; devnull.Close() }()
	start := time.Now()
	dbgen.InitDbGen(1)
	initTook = time.Since(start)
	loaders := map[dbgen.Table]dbgen.Loader{
		dbgen.TNation: loader(g.nation), dbgen.TRegion: loader(g.region), dbgen.TSupp: loader(g.supplier),
		dbgen.TPartPsupp: loader(g.part), dbgen.TCust: loader(g.customer), dbgen.TOrderLine: loader(g.order),
	}
	for _, t := range []dbgen.Table{dbgen.TNation, dbgen.TRegion, dbgen.TSupp, dbgen.TPartPsupp, dbgen.TCust, dbgen.TOrderLine} {
		// dbgen wraps a loader's error as text (%v): errEnough is found by its text.
		if err := dbgen.DbGen(loaders, []dbgen.Table{t}); err != nil && !strings.Contains(err.Error(), errEnough.Error()) {
			return nil, fmt.Errorf("tpch: dbgen: %w", err)
		}
	}
	return g.d, nil
}

// fold is n*sf rounded down to a multiple of m, at least m.
func fold(n int, sf float64, m int) int64 { return int64(max(m, int(float64(n)*sf)/m*m)) }

type loader func(item any) error

func (l loader) Load(item any) error { return l(item) }
func (l loader) Flush() error        { return nil }

type generator struct {
	customers, parts, suppliers int64
	orders                      int
	d                           *Data
	retail                      map[int64]decimal.Decimal
}

func cents(v int64) decimal.Decimal { return decimal.New(v, -2) }

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(fmt.Sprintf("tpch: dbgen date %q: %v", s, err))
	}
	return t
}

// current is the last load of loads, or a new one when adding more rows
// to the last would pass MaxRows.
func current[L any](loads *[]L, rows func(*L) int, more int) *L {
	if n := len(*loads); n == 0 || rows(&(*loads)[n-1])+more > MaxRows {
		*loads = append(*loads, *new(L))
	}
	return &(*loads)[len(*loads)-1]
}

// bridge is the specification's PART_SUPP_BRIDGE: the i-th supplier of part
// p among s suppliers.
func bridge(p, i, s int64) int64 { return (p+i*(s/4+(p-1)/s))%s + 1 }

func (g *generator) region(item any) error {
	r := item.(*dbgen.Region)
	g.d.Regions.Rows = append(g.d.Regions.Rows, Region{RegionKey: int32(r.Code), Name: r.Text, Comment: r.Comment})
	g.d.Rows++
	return nil
}

func (g *generator) nation(item any) error {
	n := item.(*dbgen.Nation)
	g.d.Nations.Rows = append(g.d.Nations.Rows, Nation{NationKey: int32(n.Code), Name: n.Text, RegionKey: int32(n.Join), Comment: n.Comment})
	g.d.Rows++
	return nil
}

func (g *generator) supplier(item any) error {
	s := item.(*dbgen.Supp)
	if int64(s.SuppKey) > g.suppliers {
		return errEnough
	}
	last := current(&g.d.Suppliers, func(l *LoadSuppliers) int { return len(l.Rows) }, 1)
	last.Rows = append(last.Rows, Supplier{SuppKey: int32(s.SuppKey), Name: s.Name, Address: s.Address, NationKey: int32(s.NationCode),
		Phone: s.Phone, AcctBal: cents(int64(s.Acctbal)), Comment: s.Comment})
	g.d.Rows++
	return nil
}

func (g *generator) part(item any) error {
	p := item.(*dbgen.Part)
	key := int64(p.PartKey)
	if key > g.parts {
		return errEnough
	}
	last := current(&g.d.Parts, func(l *LoadParts) int { return len(l.Rows) + len(l.Suppliers) }, 1+len(p.S))
	g.retail[key] = cents(int64(p.RetailPrice))
	last.Rows = append(last.Rows, Part{PartKey: int32(key), Name: p.Name, Mfgr: p.Mfgr, Brand: p.Brand, Type: p.Type, Size: int32(p.Size),
		Container: p.Container, RetailPrice: g.retail[key], Comment: p.Comment})
	for i, s := range p.S {
		last.Suppliers = append(last.Suppliers, PartSupp{PartKey: int32(key), SuppKey: int32(bridge(key, int64(i), g.suppliers)),
			AvailQty: int32(s.Qty), SupplyCost: cents(int64(s.SCost)), Comment: s.Comment})
	}
	g.d.Rows += 1 + len(p.S)
	return nil
}

func (g *generator) customer(item any) error {
	c := item.(*dbgen.Cust)
	if int64(c.CustKey) > g.customers {
		return errEnough
	}
	last := current(&g.d.Customers, func(l *LoadCustomers) int { return len(l.Rows) }, 1)
	last.Rows = append(last.Rows, Customer{CustKey: int32(c.CustKey), Name: c.Name, Address: c.Address, NationKey: int32(c.NationCode),
		Phone: c.Phone, AcctBal: cents(int64(c.Acctbal)), MktSegment: c.MktSegment, Comment: c.Comment})
	g.d.Rows++
	return nil
}

// order keeps an order with its lines, keys folded and prices recomputed
// (dbgen's formula: the sum of extendedprice*(1-discount)*(1+tax) in cents).
func (g *generator) order(item any) error {
	o := item.(*dbgen.Order)
	if g.orders == 0 {
		return errEnough
	}
	g.orders--
	last := current(&g.d.Orders, func(l *LoadOrders) int { return len(l.Rows) + len(l.Lines) }, 1+len(o.Lines))
	var total int64
	for _, l := range o.Lines {
		p := (int64(l.PartKey)-1)%g.parts + 1
		supp := int64(0)
		for i := range int64(4) { // which of the part's suppliers dbgen picked
			if bridge(int64(l.PartKey), i, 10000) == int64(l.SuppKey) {
				supp = bridge(p, i, g.suppliers)
			}
		}
		if supp == 0 {
			return fmt.Errorf("tpch: line %d of order %d: supplier %d is none of part %d's", l.LCnt, l.OKey, l.SuppKey, l.PartKey)
		}
		eprice := g.retail[p].Mul(decimal.NewFromInt(int64(l.Quantity)))
		ecents := eprice.Shift(2).IntPart()
		total += ecents * (100 - int64(l.Discount)) / 100 * (100 + int64(l.Tax)) / 100
		last.Lines = append(last.Lines, LineItem{OrderKey: int64(l.OKey), PartKey: int32(p), SuppKey: int32(supp), LineNumber: int32(l.LCnt),
			Quantity: decimal.NewFromInt(int64(l.Quantity)), ExtendedPrice: eprice, Discount: cents(int64(l.Discount)), Tax: cents(int64(l.Tax)),
			ReturnFlag: string(l.RFlag), LineStatus: string(l.LStatus), ShipDate: date(l.SDate), CommitDate: date(l.CDate), ReceiptDate: date(l.RDate),
			ShipInstruct: l.ShipInstruct, ShipMode: l.ShipMode, Comment: l.Comment})
	}
	last.Rows = append(last.Rows, Order{OrderKey: int64(o.OKey), CustKey: int32((int64(o.CustKey)-1)%g.customers + 1), OrderStatus: string(o.Status),
		TotalPrice: cents(total), OrderDate: date(o.Date), OrderPriority: o.OrderPriority, Clerk: o.Clerk, ShipPriority: int32(o.ShipPriority), Comment: o.Comment})
	g.d.Rows += 1 + len(o.Lines)
	return nil
}

// Submitter is what Load needs of a database (*imago.DB has it).
type Submitter interface {
	SubmitAll(ctx context.Context, cmds []commands.Command, metas []commands.Meta) []commands.Outcome
}

// Load submits the data's commands, 64 at a time.
func (d *Data) Load(ctx context.Context, db Submitter) error {
	cmds := d.Commands()
	for len(cmds) > 0 {
		n := min(len(cmds), 64)
		for i, o := range db.SubmitAll(ctx, cmds[:n], make([]commands.Meta, n)) {
			if o.Err != nil {
				return fmt.Errorf("tpch: %T: %w", cmds[i], o.Err)
			}
		}
		cmds = cmds[n:]
	}
	return nil
}
