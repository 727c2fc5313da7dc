package tpcc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// NewOrder is the New-Order transaction (clause 2.4): an order of Lines for
// customer CID of district DID of warehouse WID. An item number that does
// not exist makes Apply refuse it (clause 2.4.2.3's rollback): nothing of it
// is applied or logged, and the driver counts it as a New-Order, rolled
// back.
type NewOrder struct {
	WID   int32      `json:"w_id"`
	DID   int32      `json:"d_id"`
	CID   int32      `json:"c_id"`
	Lines []LineItem `json:"lines"`
}

// LineItem is one line of NewOrder: an item, the warehouse that supplies it
// and the quantity.
type LineItem struct {
	IID       int32 `json:"i_id"`
	SupplyWID int32 `json:"supply_w_id"`
	Quantity  int32 `json:"quantity"`
}

// MaxLines is the most lines an order has (clause 2.4.1.3: 5 to 15).
const MaxLines = 15

// Validate implements commands.Command.
func (c *NewOrder) Validate() error {
	errs := []error{
		between("w_id", int64(c.WID), 1, MaxWarehouses), between("d_id", int64(c.DID), 1, DistrictsPerWarehouse),
		between("c_id", int64(c.CID), 1, MaxCustomers), between("lines", int64(len(c.Lines)), 1, MaxLines),
	}
	for i, l := range c.Lines {
		errs = append(errs, between(fmt.Sprintf("lines[%d].i_id", i), int64(l.IID), 1, MaxItems+1),
			between(fmt.Sprintf("lines[%d].supply_w_id", i), int64(l.SupplyWID), 1, MaxWarehouses),
			between(fmt.Sprintf("lines[%d].quantity", i), int64(l.Quantity), 1, 10))
	}
	return errors.Join(errs...)
}

// NewOrderResult is New-Order's output (clause 2.4.3.3).
type NewOrderResult struct {
	OID      int32           `json:"o_id"`
	CLast    string          `json:"c_last"`
	CCredit  string          `json:"c_credit"`
	Discount decimal.Decimal `json:"c_discount"`
	WTax     decimal.Decimal `json:"w_tax"`
	DTax     decimal.Decimal `json:"d_tax"`
	Total    decimal.Decimal `json:"total_amount"`
	Lines    []LineResult    `json:"lines"`
}

// LineResult is one line of New-Order's output.
type LineResult struct {
	Name   string          `json:"i_name"`
	Stock  int32           `json:"s_quantity"`
	Brand  string          `json:"brand_generic"`
	Price  decimal.Decimal `json:"i_price"`
	Amount decimal.Decimal `json:"ol_amount"`
}

// Apply implements commands.Command.
func (c *NewOrder) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	w, found, err := Warehouses.Get(tx, c.WID)
	if err != nil || !found {
		return nil, orErr(err, "unknown warehouse %d", c.WID)
	}
	d, err := district(tx, c.WID, c.DID)
	if err != nil {
		return nil, err
	}
	cu, found, err := Customers.Get(tx, c.WID, c.DID, c.CID)
	if err != nil || !found {
		return nil, orErr(err, "unknown customer %d of district %d, warehouse %d", c.CID, c.DID, c.WID)
	}
	oid := d.NextOID
	d.NextOID++
	if err := Districts.Update(tx, d); err != nil {
		return nil, err
	}
	order := Order{ID: oid, DID: c.DID, WID: c.WID, CID: c.CID, EntryD: env.Time, OLCnt: int32(len(c.Lines)), AllLocal: 1}
	for _, l := range c.Lines {
		if l.SupplyWID != c.WID {
			order.AllLocal = 0
		}
	}
	if err := Orders.Insert(tx, order); err != nil {
		return nil, err
	}
	if err := NewOrders.Insert(tx, NewOrderRow{OID: oid, DID: c.DID, WID: c.WID}); err != nil {
		return nil, err
	}
	res := NewOrderResult{OID: oid, CLast: cu.Last, CCredit: cu.Credit, Discount: cu.Discount, WTax: w.Tax, DTax: d.Tax,
		Lines: make([]LineResult, len(c.Lines))}
	sum := decimal.Zero
	for i, l := range c.Lines {
		line, err := c.line(tx, oid, int32(i+1), l)
		if err != nil {
			return nil, err
		}
		res.Lines[i] = line
		sum = sum.Add(line.Amount)
	}
	one := decimal.NewFromInt(1)
	res.Total = sum.Mul(one.Sub(cu.Discount)).Mul(one.Add(w.Tax).Add(d.Tax)).Round(2)
	return res, nil
}

// line takes the stock of one order line and inserts it (clause 2.4.2.2).
func (c *NewOrder) line(tx *memdb.Txn, oid, number int32, l LineItem) (LineResult, error) {
	item, found, err := Items.Get(tx, l.IID)
	if err != nil || !found {
		return LineResult{}, orErr(err, "item number %d is not valid", l.IID) // the 1% rollback
	}
	stock, found, err := tx.Get(Stock.Table(), l.SupplyWID, l.IID)
	if err != nil || !found {
		return LineResult{}, orErr(err, "no stock of item %d in warehouse %d", l.IID, l.SupplyWID)
	}
	quantity := stock[sQuantity].(int32)
	if quantity >= l.Quantity+10 {
		quantity -= l.Quantity
	} else {
		quantity += 91 - l.Quantity
	}
	remote := int32(0)
	if l.SupplyWID != c.WID {
		remote = 1
	}
	stock = changed(stock, func(r memdb.Row) {
		r[sQuantity], r[sYTD] = quantity, r[sYTD].(int32)+l.Quantity
		r[sOrderCnt], r[sRemoteCnt] = r[sOrderCnt].(int32)+1, r[sRemoteCnt].(int32)+remote
	})
	if err := tx.Update(Stock.Table(), stock); err != nil {
		return LineResult{}, err
	}
	amount := item.Price.Mul(decimal.NewFromInt32(l.Quantity))
	ol := memdb.Row{oid, c.DID, c.WID, number, l.IID, l.SupplyWID, nil, l.Quantity, amount, stock[sDist01+int(c.DID)-1]}
	if err := tx.Insert(OrderLines.Table(), ol); err != nil {
		return LineResult{}, err
	}
	brand := "G"
	if strings.Contains(item.Data, "ORIGINAL") && strings.Contains(stock[sData].(string), "ORIGINAL") {
		brand = "B"
	}
	return LineResult{Name: item.Name, Stock: quantity, Brand: brand, Price: item.Price, Amount: amount}, nil
}

// Payment is the Payment transaction (clause 2.5): AmountCents paid by a
// customer of district CDID of warehouse CWID, through district DID of
// warehouse WID; the customer is CID or, when CID is 0, the one in the
// middle (n/2 rounded up) of those with last name CLast ordered by first
// name (clause 2.5.2.2).
type Payment struct {
	WID         int32  `json:"w_id"`
	DID         int32  `json:"d_id"`
	CWID        int32  `json:"c_w_id"`
	CDID        int32  `json:"c_d_id"`
	CID         int32  `json:"c_id,omitempty"`
	CLast       string `json:"c_last,omitempty"`
	AmountCents int64  `json:"h_amount_cents"`
}

// Validate implements commands.Command.
func (c *Payment) Validate() error {
	return errors.Join(
		between("w_id", int64(c.WID), 1, MaxWarehouses), between("d_id", int64(c.DID), 1, DistrictsPerWarehouse),
		between("c_w_id", int64(c.CWID), 1, MaxWarehouses), between("c_d_id", int64(c.CDID), 1, DistrictsPerWarehouse),
		between("c_id", int64(c.CID), 0, MaxCustomers),
		check((c.CID == 0) != (c.CLast == ""), "c_id and c_last: give exactly one"),
		check(len(c.CLast) <= 16, "c_last has %d characters, at most 16", len(c.CLast)),
		between("h_amount_cents", c.AmountCents, 100, 500_000))
}

// PaymentResult is Payment's output (clause 2.5.3.3), less the addresses.
type PaymentResult struct {
	CID     int32           `json:"c_id"`
	First   string          `json:"c_first"`
	Last    string          `json:"c_last"`
	Credit  string          `json:"c_credit"`
	Balance decimal.Decimal `json:"c_balance"`
	Data    string          `json:"c_data,omitempty"`
}

// Apply implements commands.Command.
func (c *Payment) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	amount := decimal.New(c.AmountCents, -2)
	w, found, err := Warehouses.Get(tx, c.WID)
	if err != nil || !found {
		return nil, orErr(err, "unknown warehouse %d", c.WID)
	}
	w.YTD = w.YTD.Add(amount)
	if err := Warehouses.Update(tx, w); err != nil {
		return nil, err
	}
	d, err := district(tx, c.WID, c.DID)
	if err != nil {
		return nil, err
	}
	d.YTD = d.YTD.Add(amount)
	if err := Districts.Update(tx, d); err != nil {
		return nil, err
	}
	cu, err := c.customer(tx)
	if err != nil {
		return nil, err
	}
	cu.Balance = cu.Balance.Sub(amount)
	cu.YTDPayment = cu.YTDPayment.Add(amount)
	cu.PaymentCnt++
	if cu.Credit == "BC" {
		cu.Data = fmt.Sprintf("%d %d %d %d %d %s|", cu.ID, cu.DID, cu.WID, c.DID, c.WID, amount.StringFixed(2)) + cu.Data
		cu.Data = cu.Data[:min(len(cu.Data), 500)]
	}
	if err := Customers.Update(tx, cu); err != nil {
		return nil, err
	}
	h := HistoryRow{Seq: int64(env.Seq), CID: cu.ID, CDID: cu.DID, CWID: cu.WID, DID: c.DID, WID: c.WID, Date: env.Time,
		Amount: amount, Data: w.Name + "    " + d.Name}
	if err := History.Insert(tx, h); err != nil {
		return nil, err
	}
	res := PaymentResult{CID: cu.ID, First: cu.First, Last: cu.Last, Credit: cu.Credit, Balance: cu.Balance}
	if cu.Credit == "BC" {
		res.Data = cu.Data[:min(len(cu.Data), 200)]
	}
	return res, nil
}

// customer is the paying customer, by id or by last name.
func (c *Payment) customer(tx *memdb.Txn) (Customer, error) {
	if c.CID != 0 {
		cu, found, err := Customers.Get(tx, c.CWID, c.CDID, c.CID)
		if err != nil || !found {
			return cu, orErr(err, "unknown customer %d of district %d, warehouse %d", c.CID, c.CDID, c.CWID)
		}
		return cu, nil
	}
	it, err := tx.Prefix(customersByLast, c.CWID, c.CDID, c.CLast)
	if err != nil {
		return Customer{}, err
	}
	var rows []memdb.Row
	for row := it.NextRow(); row != nil; row = it.NextRow() {
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return Customer{}, fmt.Errorf("no customer named %s in district %d, warehouse %d", c.CLast, c.CDID, c.CWID)
	}
	return Customers.Value(rows[(len(rows)-1)/2]), nil
}

// Delivery is the Delivery transaction (clause 2.7): the oldest undelivered
// order of each district of warehouse WID is delivered by CarrierID. It runs
// inline, not deferred (clause 2.7.2.1 allows both); a district without
// undelivered orders is skipped.
type Delivery struct {
	WID       int32 `json:"w_id"`
	CarrierID int32 `json:"o_carrier_id"`
}

// Validate implements commands.Command.
func (c *Delivery) Validate() error {
	return errors.Join(between("w_id", int64(c.WID), 1, MaxWarehouses), between("o_carrier_id", int64(c.CarrierID), 1, 10))
}

// DeliveryResult is the orders delivered (o_id by d_id; 0: skipped).
type DeliveryResult struct {
	Delivered [DistrictsPerWarehouse]int32 `json:"delivered"`
}

// Apply implements commands.Command.
func (c *Delivery) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	if _, found, err := Warehouses.Get(tx, c.WID); err != nil || !found {
		return nil, orErr(err, "unknown warehouse %d", c.WID)
	}
	var res DeliveryResult
	for did := int32(1); did <= DistrictsPerWarehouse; did++ {
		oid, err := c.deliver(tx, did, env)
		if err != nil {
			return nil, err
		}
		res.Delivered[did-1] = oid
	}
	return res, nil
}

// deliver delivers the oldest new order of district did, returning its id
// (0 if there is none).
func (c *Delivery) deliver(tx *memdb.Txn, did int32, env *commands.Envelope) (int32, error) {
	no, found, err := NewOrders.First(tx, NewOrders.Table().Primary(), c.WID, did)
	if err != nil || !found {
		return 0, err
	}
	if err := tx.Delete(NewOrders.Table(), c.WID, did, no.OID); err != nil {
		return 0, err
	}
	o, found, err := Orders.Get(tx, c.WID, did, no.OID)
	if err != nil || !found {
		return 0, orErr(err, "new order %d of district %d, warehouse %d has no order", no.OID, did, c.WID)
	}
	o.CarrierID = &c.CarrierID
	if err := Orders.Update(tx, o); err != nil {
		return 0, err
	}
	it, err := tx.Prefix(OrderLines.Table().Primary(), c.WID, did, no.OID)
	if err != nil {
		return 0, err
	}
	var lines []memdb.Row
	for row := it.NextRow(); row != nil; row = it.NextRow() {
		lines = append(lines, row)
	}
	sum := decimal.Zero
	for _, l := range lines {
		sum = sum.Add(l[olAmount].(decimal.Decimal))
		if err := tx.Update(OrderLines.Table(), changed(l, func(r memdb.Row) { r[olDeliveryD] = env.Time })); err != nil {
			return 0, err
		}
	}
	cu, found, err := Customers.Get(tx, c.WID, did, o.CID)
	if err != nil || !found {
		return 0, orErr(err, "order %d of district %d, warehouse %d has no customer %d", no.OID, did, c.WID, o.CID)
	}
	cu.Balance = cu.Balance.Add(sum)
	cu.DeliveryCnt++
	return no.OID, Customers.Update(tx, cu)
}

func district(tx *memdb.Txn, wid, did int32) (District, error) {
	d, found, err := Districts.Get(tx, wid, did)
	if err != nil || !found {
		return d, orErr(err, "unknown district %d of warehouse %d", did, wid)
	}
	return d, nil
}

func check(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}
