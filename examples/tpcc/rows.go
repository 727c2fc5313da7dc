package tpcc

import (
	"fmt"
	"slices"

	"github.com/imagodb/imago/memdb"
)

// The hot paths (New-Order's stock and lines, Delivery's lines) change a
// few columns of a row as a memdb.Row: a copy of the row with those values
// replaced, not a typed struct. memdb.Typed converts by reflection and boxes
// every column again on the way back (17 allocations for a stock row); in
// the TPC-C run those conversions and the garbage they leave were a third of
// Apply's CPU (pprof, bench/tpcc).

// col is the position of a column, resolved once.
func col(t *memdb.Table, name string) int {
	i, ok := t.Column(name)
	if !ok {
		panic(fmt.Sprintf("tpcc: table %s has no column %s", t.Name(), name))
	}
	return i
}

var (
	sQuantity  = col(Stock.Table(), "s_quantity")
	sYTD       = col(Stock.Table(), "s_ytd")
	sOrderCnt  = col(Stock.Table(), "s_order_cnt")
	sRemoteCnt = col(Stock.Table(), "s_remote_cnt")
	sData      = col(Stock.Table(), "s_data")
	sDist01    = col(Stock.Table(), "s_dist_01")

	olDeliveryD = col(OrderLines.Table(), "ol_delivery_d")
	olAmount    = col(OrderLines.Table(), "ol_amount")
)

// changed is a copy of row with the values at the given positions set.
func changed(row memdb.Row, set func(r memdb.Row)) memdb.Row {
	r := slices.Clone(row)
	set(r)
	return r
}
