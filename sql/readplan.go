package sql

import (
	"context"
	"errors"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/imagodb/imago/memdb"
)

// readPlan is a prepared read of one app table whose plan does not depend
// on its parameters:
//
//	SELECT [DISTINCT] columns | aggregates FROM t
//	WHERE a = ? AND b = ? [AND c BETWEEN ? AND ? | c < ? [AND c >= ?] ...]
//	[ORDER BY column [ASC|DESC], ...] [LIMIT n]
//
// where a, b, c are the leading columns of one index of t, the primary key
// (single-column or composite) or a secondary index: equalities on a prefix
// of its columns and at most a range on the next one, every condition on
// the index's columns. columns are plain columns (or *), and aggregates are
// COUNT/SUM/MIN/MAX/AVG of a column or COUNT(*).
// It reads the key range of the statement's snapshot in the index's order,
// which is the order GMS reads it in (through the same index, see
// rangePartition), so that every step below gives GMS's answer: DISTINCT
// keeps the first of equal rows, ORDER BY is a stable sort with NULLs first
// (last when DESC), LIMIT takes the first rows after them, aggregates are
// GMS's own functions.
type readPlan struct {
	table        *table
	ix           *index   // the index read
	eq           []string // parameters equal to the index's leading columns
	lower, upper keyBound // bounds of the index column after them
	params       int      // distinct parameters the statement has
	cols         []int    // selected columns; nil when aggs
	aggs         []gsql.Aggregation
	distinct     bool
	order        []sortKey
	limit        int // rows at most; -1: no LIMIT
}

// keyBound is one side of a column's range.
type keyBound struct {
	param     string // bind variable ("v1"); "": unbounded
	inclusive bool
}

// columnRange is what the WHERE clause says of one column: equal to a
// parameter (both bounds that parameter, inclusive) or between bounds.
type columnRange struct{ lower, upper keyBound }

func (r columnRange) isEqual() bool { return r.lower.param != "" && r.lower == r.upper }

// sortKey is one ORDER BY term: a table column.
type sortKey struct {
	col  int
	desc bool
}

// matchReadPlan returns the plan of query if it has a readPlan's shape.
func matchReadPlan(app *database, currentDB, query string) *readPlan {
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return nil
	}
	sel, ok := stmt.(*sqlparser.Select)
	if !ok || !reflect.DeepEqual(sel.QueryOpts, sqlparser.QueryOpts{Distinct: sel.QueryOpts.Distinct}) ||
		sel.GroupBy != nil || sel.Having != nil || sel.Window != nil ||
		(sel.Lock != nil && sel.Lock.Type != "") || sel.Into != nil || sel.With != nil || len(sel.From) != 1 || sel.Where == nil {
		return nil
	}
	tb, tn := appTable(app, currentDB, sel.From[0])
	if tb == nil {
		return nil
	}
	p := &readPlan{table: tb, distinct: sel.QueryOpts.Distinct, limit: -1}
	conds := map[int]*columnRange{}
	if !p.where(sel.Where.Expr, tn, conds) || !p.selectList(sel.SelectExprs, tn, len(sel.OrderBy) > 0) ||
		!p.orderBy(sel.OrderBy, tn) || !p.chooseIndex(conds) || !p.limitClause(sel.Limit) {
		return nil
	}
	params := map[string]bool{}
	for _, c := range conds {
		params[c.lower.param], params[c.upper.param] = true, true
	}
	delete(params, "")
	p.params = len(params)
	return p
}

// appTable is the app table a FROM clause names, without alias or AS OF.
func appTable(app *database, currentDB string, from sqlparser.TableExpr) (*table, sqlparser.TableName) {
	ate, ok := from.(*sqlparser.AliasedTableExpr)
	if !ok || !ate.As.IsEmpty() || ate.AsOf != nil || ate.Hints != nil {
		return nil, sqlparser.TableName{}
	}
	tn, ok := ate.Expr.(sqlparser.TableName)
	if !ok {
		return nil, tn
	}
	db := tn.DbQualifier.String()
	if db == "" {
		db = currentDB
	}
	if !strings.EqualFold(db, app.name) {
		return nil, tn
	}
	tb, _ := app.tables[strings.ToLower(tn.Name.String())].(*table)
	return tb, tn
}

// where takes a conjunction of comparisons of columns with parameters, at
// most one bound on each side of a column, into conds by column.
func (p *readPlan) where(e sqlparser.Expr, tn sqlparser.TableName, conds map[int]*columnRange) bool {
	cond := func(e sqlparser.Expr) *columnRange {
		c, ok := e.(*sqlparser.ColName)
		if !ok {
			return nil
		}
		i := p.table.column(c, tn)
		if i < 0 {
			return nil
		}
		if conds[i] == nil {
			conds[i] = &columnRange{}
		}
		return conds[i]
	}
	switch e := e.(type) {
	case *sqlparser.AndExpr:
		return p.where(e.Left, tn, conds) && p.where(e.Right, tn, conds)
	case *sqlparser.RangeCond:
		c := cond(e.Left)
		return e.Operator == sqlparser.BetweenStr && c != nil && c.lower.set(e.From, true) && c.upper.set(e.To, true)
	case *sqlparser.ComparisonExpr:
		c := cond(e.Left)
		if c == nil {
			return false
		}
		switch e.Operator {
		case sqlparser.EqualStr:
			return c.lower.set(e.Right, true) && c.upper.set(e.Right, true)
		case sqlparser.GreaterThanStr:
			return c.lower.set(e.Right, false)
		case sqlparser.GreaterEqualStr:
			return c.lower.set(e.Right, true)
		case sqlparser.LessThanStr:
			return c.upper.set(e.Right, false)
		case sqlparser.LessEqualStr:
			return c.upper.set(e.Right, true)
		}
	}
	return false
}

// chooseIndex picks the index whose leading columns carry every condition:
// equalities on a prefix, at most a range on the column after it. GMS reads
// that index too (it covers the most conditions); when several would do,
// their orders differ, so the plan is refused unless the conditions pin the
// primary key (one row at most, read from the primary key).
func (p *readPlan) chooseIndex(conds map[int]*columnRange) bool {
	var found []*index
	var eqs [][]string
	var bounds []columnRange
	for _, gi := range p.table.indexes {
		ix := gi.(*index)
		cols := ix.ix.Columns()
		var eq []string
		k := 0
		for ; k < len(cols) && conds[cols[k]] != nil && conds[cols[k]].isEqual(); k++ {
			eq = append(eq, conds[cols[k]].lower.param)
		}
		used, bound := k, columnRange{}
		if k < len(cols) && conds[cols[k]] != nil {
			used, bound = k+1, *conds[cols[k]]
		}
		if used != len(conds) || used == 0 {
			continue // a condition on a column the index does not lead with
		}
		if ix.ix == p.table.t.Primary() && k == len(cols) {
			found, eqs, bounds = []*index{ix}, [][]string{eq}, []columnRange{bound}
			break
		}
		found, eqs, bounds = append(found, ix), append(eqs, eq), append(bounds, bound)
	}
	if len(found) != 1 {
		return false
	}
	p.ix, p.eq, p.lower, p.upper = found[0], eqs[0], bounds[0].lower, bounds[0].upper
	return true
}

// limitClause takes LIMIT n without offset. With ORDER BY, GMS keeps the
// first rows of a heap (TopN), not of a stable sort: the order must then
// leave no ties, every primary-key column pinned or sorted on.
func (p *readPlan) limitClause(l *sqlparser.Limit) bool {
	if l == nil {
		return true
	}
	if l.Offset != nil || len(p.aggs) > 0 {
		return false
	}
	v, ok := l.Rowcount.(*sqlparser.SQLVal)
	if !ok || v.Type != sqlparser.IntVal {
		return false
	}
	n, err := strconv.Atoi(string(v.Val))
	if err != nil || n < 0 {
		return false
	}
	if len(p.order) > 0 {
		ixCols := p.ix.ix.Columns()
		for _, c := range p.table.t.Primary().Columns() {
			pinned := slices.Index(ixCols, c)
			if (pinned < 0 || pinned >= len(p.eq)) && !slices.ContainsFunc(p.order, func(k sortKey) bool { return k.col == c }) {
				return false
			}
		}
	}
	p.limit = n
	return true
}

// set makes the bound the parameter e; false if e is not a parameter or the
// side is bound already.
func (b *keyBound) set(e sqlparser.Expr, inclusive bool) bool {
	arg, ok := e.(*sqlparser.SQLVal)
	if !ok || arg.Type != sqlparser.ValArg || b.param != "" {
		return false
	}
	*b = keyBound{param: strings.TrimPrefix(string(arg.Val), ":"), inclusive: inclusive}
	return true
}

// selectList takes columns (or *) or aggregates, not both: mixing them
// means GROUP BY semantics, left to GMS. Aliases only rename result
// columns, whose names come from GMS; with ORDER BY they could be what a
// term refers to, so then there must be none.
func (p *readPlan) selectList(exprs sqlparser.SelectExprs, tn sqlparser.TableName, ordered bool) bool {
	for _, e := range exprs {
		switch e := e.(type) {
		case *sqlparser.StarExpr:
			if !e.TableName.IsEmpty() && !strings.EqualFold(e.TableName.Name.String(), tn.Name.String()) {
				return false
			}
			for i := range p.table.schema {
				p.cols = append(p.cols, i)
			}
		case *sqlparser.AliasedExpr:
			if !e.As.IsEmpty() && ordered {
				return false
			}
			switch x := e.Expr.(type) {
			case *sqlparser.ColName:
				i := p.table.column(x, tn)
				if i < 0 {
					return false
				}
				p.cols = append(p.cols, i)
			case *sqlparser.FuncExpr:
				agg := p.aggregate(x, tn)
				if agg == nil {
					return false
				}
				p.aggs = append(p.aggs, agg)
			default:
				return false
			}
		default:
			return false
		}
	}
	if len(p.aggs) > 0 && (len(p.cols) > 0 || p.distinct) {
		return false
	}
	if p.distinct {
		for _, c := range p.cols {
			// DISTINCT compares the encoded values (see run): equal
			// encodings mean equal values for these kinds, not for DOUBLE
			// (-0 and 0) or JSON (key order).
			if k := p.table.t.Columns()[c].Type.Kind; k == memdb.KindDouble || k == memdb.KindJSON {
				return false
			}
		}
	}
	return true
}

// aggregate is GMS's aggregate function for f, or nil.
func (p *readPlan) aggregate(f *sqlparser.FuncExpr, tn sqlparser.TableName) gsql.Aggregation {
	if f.Distinct || f.Over != nil || !f.Qualifier.IsEmpty() || len(f.Exprs) != 1 {
		return nil
	}
	name := strings.ToLower(f.Name.String())
	if _, ok := f.Exprs[0].(*sqlparser.StarExpr); ok {
		if name != "count" {
			return nil
		}
		return aggregation.NewCount(expression.NewStar())
	}
	ae, ok := f.Exprs[0].(*sqlparser.AliasedExpr)
	if !ok {
		return nil
	}
	col, ok := ae.Expr.(*sqlparser.ColName)
	if !ok {
		return nil
	}
	i := p.table.column(col, tn)
	if i < 0 {
		return nil
	}
	c := p.table.schema[i]
	arg := expression.NewGetField(i, c.Type, c.Name, c.Nullable)
	switch name {
	case "count":
		return aggregation.NewCount(arg)
	case "sum":
		if exact, ok := exactArg(gsql.NewEmptyContext(), arg, 0); ok { // as exactAggregates does
			if types.IsInteger(c.Type) {
				return &intSum{Sum: aggregation.NewSum(exact), arg: arg}
			}
			return aggregation.NewSum(exact)
		}
		return aggregation.NewSum(arg)
	case "min":
		return aggregation.NewMin(arg)
	case "max":
		return aggregation.NewMax(arg)
	case "avg":
		if exact, ok := exactArg(gsql.NewEmptyContext(), arg, 4); ok {
			return aggregation.NewAvg(exact)
		}
		return aggregation.NewAvg(arg)
	}
	return nil
}

// orderBy takes table columns; with DISTINCT they must be selected ones
// (MySQL refuses the statement otherwise, which GMS reports).
func (p *readPlan) orderBy(order sqlparser.OrderBy, tn sqlparser.TableName) bool {
	if len(order) > 0 && len(p.aggs) > 0 {
		return false
	}
	for _, o := range order {
		c, ok := o.Expr.(*sqlparser.ColName)
		if !ok {
			return false
		}
		i := p.table.column(c, tn)
		if i < 0 || (p.distinct && !slices.Contains(p.cols, i)) {
			return false
		}
		p.order = append(p.order, sortKey{col: i, desc: o.Direction == sqlparser.DescScr})
	}
	return true
}

// column is the ordinal of a column reference to t (named as tn), or -1.
func (t *table) column(c *sqlparser.ColName, tn sqlparser.TableName) int {
	if q := c.Qualifier; !q.IsEmpty() && (!strings.EqualFold(q.Name.String(), tn.Name.String()) ||
		(!q.DbQualifier.IsEmpty() && !strings.EqualFold(q.DbQualifier.String(), tn.DbQualifier.String()))) {
		return -1
	}
	for i, col := range t.schema {
		if strings.EqualFold(col.Name, c.Name.String()) {
			return i
		}
	}
	return -1
}

// resultTypes are the types that encode the plan's values as GMS's result
// columns, or nil if some column is not one the plan produces. Selected
// columns keep their table type; an aggregate's type is GMS's analyzed one
// (SUM and AVG of exact values answer DECIMAL, see exactAggregates), which the buffer's value converts to.
func (p *readPlan) resultTypes(fields []*querypb.Field) []gsql.Type {
	ctx := gsql.NewEmptyContext()
	var out []gsql.Type
	for _, c := range p.cols {
		out = append(out, p.table.schema[c].Type)
	}
	for _, agg := range p.aggs {
		out = append(out, agg.Type(ctx))
	}
	if len(out) != len(fields) {
		return nil
	}
	for i, f := range fields {
		if out[i].Type() == f.Type {
			continue
		}
		if len(p.cols) > 0 {
			return nil // a table column GMS answers with another type
		}
		switch f.Type {
		case sqltypes.Float64:
			out[i] = types.Float64
		case sqltypes.Int64:
			out[i] = types.Int64
		default:
			return nil
		}
	}
	return out
}

// run executes the plan on the statement's snapshot, encoding the result
// with types (see resultTypes) and handing it to emit in batches (at least
// one, empty if no row matches). false, before anything is emitted, when a
// parameter needs GMS's conversion rules.
func (p *readPlan) run(ctx context.Context, s *session, params map[string]*querypb.BindVariable, types []gsql.Type, emit func([][]sqltypes.Value) error) (bool, error) {
	if len(params) != p.params {
		return false, nil
	}
	sctx := gsql.NewContext(ctx, gsql.WithSession(s))
	rows, ok, err := p.rows(sctx, params)
	if !ok || err != nil {
		if rows.iter != nil {
			rows.iter.Close(sctx)
		}
		return ok, err
	}
	if len(p.aggs) > 0 {
		return true, p.aggregateRows(sctx, rows, types, emit)
	}
	return true, p.selectRows(sctx, rows, types, emit)
}

// rows reads the rows the parameters select, in the index's order: one
// lookup when they pin the primary key, a range scan otherwise.
func (p *readPlan) rows(ctx *gsql.Context, params map[string]*querypb.BindVariable) (readRows, bool, error) {
	snap := snapshotOf(ctx, p.table.db.src)
	cols := p.ix.ix.Columns()
	if p.ix.ix == p.table.t.Primary() && len(p.eq) == len(cols) {
		key := make([]any, len(cols))
		for i, param := range p.eq {
			v, ok := p.table.paramValue(ctx, cols[i], params[param])
			if !ok {
				return readRows{}, false, nil
			}
			key[i] = v
		}
		row, found, err := snap.Get(p.table.t, key...)
		if err != nil || !found {
			return readRows{}, true, err
		}
		r := gsql.Row(row)
		if p.table.hasJSON {
			if r, err = p.table.withJSON(ctx, row); err != nil {
				return readRows{}, true, err
			}
		}
		return readRows{row: r}, true, nil
	}
	rng, ok := p.keyRange(ctx, params)
	if !ok {
		return readRows{}, false, nil
	}
	rows, err := (&rangePartition{ix: p.ix, rng: rng}).rows(ctx, snap)
	return readRows{iter: rows}, true, err
}

// readRows is what a plan reads: the row a lookup by key found (nil if
// none), or an index range's rows. A lookup is not wrapped in an iterator:
// that cost four allocations of a point select's fifteen.
type readRows struct {
	row  gsql.Row
	iter gsql.RowIter
}

// keyRange is the range of the index's leading columns the parameters give.
func (p *readPlan) keyRange(ctx *gsql.Context, params map[string]*querypb.BindVariable) (gsql.MySQLRange, bool) {
	cols := p.ix.ix.Columns()
	rng := make(gsql.MySQLRange, len(p.eq), len(p.eq)+1)
	for i, param := range p.eq {
		v, ok := p.table.paramValue(ctx, cols[i], params[param])
		if !ok {
			return nil, false
		}
		rng[i] = gsql.MySQLRangeColumnExpr{LowerBound: gsql.Below{Key: v}, UpperBound: gsql.Above{Key: v}, Typ: p.table.schema[cols[i]].Type}
	}
	if p.lower.param == "" && p.upper.param == "" {
		return rng, true
	}
	col := cols[len(p.eq)]
	rce := gsql.MySQLRangeColumnExpr{LowerBound: gsql.AboveNull{}, UpperBound: gsql.AboveAll{}, Typ: p.table.schema[col].Type}
	for _, side := range []struct {
		b     keyBound
		cut   *gsql.MySQLRangeCut
		lower bool
	}{{p.lower, &rce.LowerBound, true}, {p.upper, &rce.UpperBound, false}} {
		if side.b.param == "" {
			continue
		}
		v, ok := p.table.paramValue(ctx, col, params[side.b.param])
		if !ok {
			return nil, false
		}
		// A cut lies between values: Below{v} just before v, Above{v} just
		// after. An inclusive lower bound and an exclusive upper one cut
		// below v.
		*side.cut = gsql.Above{Key: v}
		if side.b.inclusive == side.lower {
			*side.cut = gsql.Below{Key: v}
		}
	}
	return append(rng, rce), true
}

// aggregateRows emits the one row of the aggregates over rows.
func (p *readPlan) aggregateRows(ctx *gsql.Context, rows readRows, types []gsql.Type, emit func([][]sqltypes.Value) error) error {
	bufs := make([]gsql.AggregationBuffer, len(p.aggs))
	for i, agg := range p.aggs {
		b, err := agg.NewBuffer(ctx)
		if err != nil {
			return err
		}
		bufs[i] = b
	}
	err := forEachRow(ctx, rows, func(row gsql.Row) error {
		for _, b := range bufs {
			if err := b.Update(ctx, row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := make([]sqltypes.Value, len(bufs))
	for i, b := range bufs {
		v, err := b.Eval(ctx)
		if err != nil {
			return err
		}
		if v != nil {
			if v, _, err = types[i].Convert(ctx, v); err != nil {
				return err
			}
		}
		if out[i], err = types[i].SQL(ctx, nil, v); err != nil {
			return err
		}
	}
	return emit([][]sqltypes.Value{out})
}

// errEnoughRows stops a read once LIMIT's rows are kept.
var errEnoughRows = errors.New("enough rows for LIMIT")

// batchRows is how many rows an unsorted result sends at a time, so that a
// long range streams instead of being held whole.
const batchRows = 256

// selectRows projects rows, drops repeated ones for DISTINCT and sorts.
// Without ORDER BY rows stream in batches; with it they are held, as GMS
// holds them, for the sort.
func (p *readPlan) selectRows(ctx *gsql.Context, rows readRows, types []gsql.Type, emit func([][]sqltypes.Value) error) error {
	var (
		enc    valueEncoder
		out    [][]sqltypes.Value
		sorted []gsql.Row // the rows out came from, for ORDER BY
		seen   map[string]struct{}
		keys   []byte // the keys of seen, end to end
		sent   bool
		taken  int // rows kept, for LIMIT without ORDER BY
	)
	if rows.iter != nil {
		// A range: room for sysbench's 100 rows without regrowing.
		enc.vals = make([]sqltypes.Value, 0, 128*len(p.cols))
		enc.bytes = make([]byte, 0, 4<<10)
		out = make([][]sqltypes.Value, 0, 128)
		if len(p.order) > 0 {
			sorted = make([]gsql.Row, 0, 128)
		}
	}
	if p.distinct {
		seen = make(map[string]struct{}, 128)
	}
	err := forEachRow(ctx, rows, func(row gsql.Row) error {
		if p.limit >= 0 && len(p.order) == 0 && taken == p.limit {
			return errEnoughRows
		}
		vals, err := enc.row(ctx, types, p.cols, row)
		if err != nil {
			return err
		}
		if p.distinct {
			// Keys are strings over one growing array rather than a string
			// each: the array's bytes are never written again once a key
			// is kept (a larger array copies them), so the strings stay
			// valid.
			start := len(keys)
			keys = distinctKey(keys, vals)
			key := unsafe.String(unsafe.SliceData(keys[start:]), len(keys)-start)
			if _, dup := seen[key]; dup {
				keys = keys[:start]
				return nil
			}
			seen[key] = struct{}{}
		}
		out = append(out, vals)
		taken++
		if len(p.order) > 0 {
			sorted = append(sorted, row)
		} else if len(out) == batchRows {
			sent = true
			if err := emit(out); err != nil {
				return err
			}
			out = make([][]sqltypes.Value, 0, batchRows)
		}
		return nil
	})
	if err != nil && err != errEnoughRows {
		return err
	}
	if len(p.order) > 0 {
		if out, err = p.sort(ctx, out, sorted); err != nil {
			return err
		}
		if p.limit >= 0 && len(out) > p.limit {
			out = out[:p.limit]
		}
	}
	if len(out) > 0 || !sent {
		return emit(out)
	}
	return nil
}

// valueEncoder encodes result values into shared blocks rather than a
// slice per value: a range read encodes many small values and their
// allocations, not the reading, were its cost. Blocks start small (most
// reads are a row by key) and double up to a bound.
type valueEncoder struct {
	vals  []sqltypes.Value
	bytes []byte
}

const maxBlockValues, maxBlockBytes = 1024, 64 << 10

// row encodes the columns cols of row with types.
func (e *valueEncoder) row(ctx *gsql.Context, types []gsql.Type, cols []int, row gsql.Row) ([]sqltypes.Value, error) {
	if cap(e.vals)-len(e.vals) < len(cols) {
		e.vals = make([]sqltypes.Value, 0, max(min(2*cap(e.vals), maxBlockValues), len(cols)))
	}
	start := len(e.vals)
	for i, col := range cols {
		if cap(e.bytes)-len(e.bytes) < 256 {
			e.bytes = make([]byte, 0, min(max(2*cap(e.bytes), 512), maxBlockBytes))
		}
		// Some types return all of dest, not only what they appended:
		// dest starts empty.
		v, err := types[i].SQL(ctx, e.bytes[len(e.bytes):], row[col])
		if err != nil {
			return nil, err
		}
		e.vals = append(e.vals, v)
		e.claim(v.Raw())
	}
	return e.vals[start:len(e.vals):len(e.vals)], nil
}

// claim keeps the bytes a value was appended into: SQL appends to the
// block, and a value that did not fit went to a new array of its own.
func (e *valueEncoder) claim(raw []byte) {
	free := e.bytes[len(e.bytes):cap(e.bytes)]
	if len(raw) == 0 || len(free) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(free)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
	if at >= base && at < base+uintptr(len(free)) {
		e.bytes = e.bytes[:len(e.bytes)+int(at-base)+len(raw)]
	}
}

// distinctKey appends the encoding of a result row: NULL and each value's
// length, then the value, so that different rows never share a key.
func distinctKey(dst []byte, vals []sqltypes.Value) []byte {
	for _, v := range vals {
		if v.IsNull() {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		dst = strconv.AppendInt(dst, int64(v.Len()), 10)
		dst = append(dst, ':')
		dst = append(dst, v.Raw()...)
	}
	return dst
}

// sort orders out (whose source rows are src) stably by the ORDER BY terms.
func (p *readPlan) sort(ctx *gsql.Context, out [][]sqltypes.Value, src []gsql.Row) ([][]sqltypes.Value, error) {
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	bytewise := make([]bool, len(p.order))
	for i, k := range p.order {
		bytewise[i] = sortsBytewise(p.table.schema[k.col].Type, src, k.col)
	}
	var cmpErr error
	slices.SortStableFunc(idx, func(a, b int) int {
		for i, k := range p.order {
			var c int
			var err error
			if bytewise[i] {
				c = compareStringsNullsFirst(src[a][k.col], src[b][k.col])
			} else {
				c, err = compareNullsFirst(ctx, p.table.schema[k.col].Type, src[a][k.col], src[b][k.col])
			}
			if err != nil && cmpErr == nil {
				cmpErr = err
			}
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	if cmpErr != nil {
		return nil, cmpErr
	}
	res := make([][]sqltypes.Value, len(out))
	for i, j := range idx {
		res[i] = out[j]
	}
	return res, nil
}

// sortsBytewise reports whether column col of rows, of type typ, sorts as
// its bytes: strings of utf8mb4_0900_bin (Imago's collation), whose weights
// are the code points, so that byte order is GMS's order, provided every
// value is valid UTF-8 (GMS refuses to compare others). Measured under
// sysbench's ORDER BY c: GMS's rune-by-rune comparison was 7% of the
// server's CPU.
func sortsBytewise(typ gsql.Type, rows []gsql.Row, col int) bool {
	st, ok := typ.(gsql.StringType)
	if !ok || !types.IsText(typ) || st.Collation() != gsql.Collation_utf8mb4_0900_bin {
		return false
	}
	for _, r := range rows {
		if v, ok := r[col].(string); (!ok && r[col] != nil) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// compareStringsNullsFirst compares strings (or NULLs) bytewise, NULL first.
func compareStringsNullsFirst(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return strings.Compare(a.(string), b.(string))
}

// compareNullsFirst is MySQL's ORDER BY comparison: NULL before any value.
func compareNullsFirst(ctx *gsql.Context, typ gsql.Type, a, b any) (int, error) {
	switch {
	case a == nil && b == nil:
		return 0, nil
	case a == nil:
		return -1, nil
	case b == nil:
		return 1, nil
	}
	return typ.Compare(ctx, a, b)
}

// forEachRow calls f with each row of rows, then closes it. It stops when
// the statement is cancelled (the query time limit, a closed connection).
func forEachRow(ctx *gsql.Context, rows readRows, f func(gsql.Row) error) error {
	if rows.iter == nil {
		if err := ctx.Err(); err != nil || rows.row == nil {
			return err
		}
		return f(rows.row)
	}
	defer rows.iter.Close(ctx)
	for n := 0; ; n++ {
		if n%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		row, err := rows.iter.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := f(row); err != nil {
			return err
		}
	}
}

// paramValue converts a parameter to the type of column col, and reports
// false unless it converts exactly (GMS then applies MySQL's comparison
// rules).
func (t *table) paramValue(ctx *gsql.Context, col int, bv *querypb.BindVariable) (any, bool) {
	if bv == nil || bv.Type == sqltypes.Null {
		return nil, false
	}
	v, err := sqltypes.NewValue(bv.Type, bv.Value)
	if err != nil {
		return nil, false
	}
	var arg any
	switch {
	case v.IsSigned():
		arg, err = strconv.ParseInt(v.ToString(), 10, 64)
	case v.IsUnsigned():
		arg, err = strconv.ParseUint(v.ToString(), 10, 64)
	case v.IsText() || v.IsBinary(): // as drivers send strings; converted below
		arg = v.ToString()
	default: // floats, decimals, times: MySQL's rules apply
		return nil, false
	}
	if err != nil {
		return nil, false
	}
	typ := t.schema[col].Type
	cv, inRange, err := typ.Convert(ctx, arg)
	if err != nil || inRange != gsql.InRange || cv == nil {
		return nil, false
	}
	if c, err := typ.Compare(ctx, cv, arg); err != nil || c != 0 {
		return nil, false
	}
	return cv, true
}
