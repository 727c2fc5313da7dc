package sql

import (
	"bytes"

	gsql "github.com/dolthub/go-mysql-server/sql"

	"github.com/imagodb/imago/memdb"
)

// indexInfo describes an index to GMS: what it covers, not how it is read.
type indexInfo struct {
	db, table, id string
	unique        bool
	exprs         []string
	types         []gsql.ColumnExpressionType
}

func newIndexInfo(db, table, id string, unique bool, schema gsql.Schema, cols ...int) *indexInfo {
	info := &indexInfo{db: db, table: table, id: id, unique: unique}
	for _, p := range cols {
		expr := table + "." + schema[p].Name
		info.exprs = append(info.exprs, expr)
		info.types = append(info.types, gsql.ColumnExpressionType{Expression: expr, Type: schema[p].Type})
	}
	return info
}

var _ gsql.Index = (*indexInfo)(nil)

func (i *indexInfo) ID() string                                                      { return i.id }
func (i *indexInfo) Database() string                                                { return i.db }
func (i *indexInfo) Table() string                                                   { return i.table }
func (i *indexInfo) Expressions() []string                                           { return i.exprs }
func (i *indexInfo) IsUnique() bool                                                  { return i.unique }
func (i *indexInfo) IsSpatial() bool                                                 { return false }
func (i *indexInfo) IsFullText() bool                                                { return false }
func (i *indexInfo) IsVector() bool                                                  { return false }
func (i *indexInfo) Comment() string                                                 { return "" }
func (i *indexInfo) IndexType() string                                               { return "BTREE" }
func (i *indexInfo) IsGenerated() bool                                               { return false }
func (i *indexInfo) ColumnExpressionTypes(*gsql.Context) []gsql.ColumnExpressionType { return i.types }
func (i *indexInfo) CanSupport(*gsql.Context, ...gsql.Range) bool                    { return true }
func (i *indexInfo) CanSupportOrderBy(gsql.Expression) bool                          { return false }
func (i *indexInfo) PrefixLengths() []uint16                                         { return nil }

// index is a memdb index (primary or secondary) of an app table.
type index struct {
	*indexInfo
	table *table
	ix    *memdb.Index
}

func newIndex(t *table, ix *memdb.Index) *index {
	info := newIndexInfo(t.db.name, t.t.Name(), ix.Name, ix.Unique, t.schema, ix.Columns()...)
	return &index{indexInfo: info, table: t, ix: ix}
}

// rangePartition is one range of an index lookup.
type rangePartition struct {
	ix  *index
	rng gsql.MySQLRange
}

func (p *rangePartition) Key() []byte { return []byte(p.ix.ix.Name) }

func (p *rangePartition) rows(ctx *gsql.Context, snap *memdb.Snapshot) (gsql.RowIter, error) {
	scan := newRangeScan(ctx, p.ix, p.rng)
	if scan.empty {
		return gsql.RowsToRowIter(), nil
	}
	it, err := snap.Scan(p.ix.ix, scan.start)
	if err != nil {
		return nil, err
	}
	return &rowIter{table: p.ix.table, it: it, scan: scan}, nil
}

// rangeScan turns a GMS range over an index's columns into a key interval:
// start is the first key to visit and stop the key prefix past which no row
// can match. The leading columns the range pins to one value (col = v, or
// IS NULL) form a common prefix; the first column that is a true range
// contributes its bounds; later columns only filter. Key bounds are allowed
// to be wider than the range (when a bound value does not convert exactly to
// the column type): match checks every column exactly.
type rangeScan struct {
	ix      *index
	rng     gsql.MySQLRange
	start   []byte
	stop    []byte
	bounded bool // whether stop applies
	empty   bool
}

func newRangeScan(ctx *gsql.Context, ix *index, rng gsql.MySQLRange) *rangeScan {
	s := &rangeScan{ix: ix, rng: rng}
	var prefix []byte
	i := 0
	for ; i < len(rng) && i < len(ix.types); i++ {
		key, ok := s.pointKey(ctx, prefix, i, rng[i])
		if !ok {
			break
		}
		prefix = key
	}
	s.start, s.stop, s.bounded = prefix, prefix, len(prefix) > 0
	if i == len(rng) || i == len(ix.types) {
		return s
	}
	rce := rng[i]
	switch lb := rce.LowerBound.(type) {
	case gsql.AboveNull:
		s.start = append(clone(prefix), 0x01) // the first non-NULL value
	case gsql.Below:
		s.start = s.boundKey(ctx, prefix, i, lb.Key, prefix)
	case gsql.Above:
		s.start = s.boundKey(ctx, prefix, i, lb.Key, prefix)
	case gsql.AboveAll:
		s.empty = true
	}
	switch ub := rce.UpperBound.(type) {
	case gsql.AboveNull:
		s.stop, s.bounded = append(clone(prefix), 0x00), true // NULLs only
	case gsql.Below:
		s.stop, s.bounded = s.boundKey(ctx, prefix, i, ub.Key, prefix), true
	case gsql.Above:
		s.stop, s.bounded = s.boundKey(ctx, prefix, i, ub.Key, prefix), true
	case gsql.BelowNull:
		s.empty = true
	}
	return s
}

// pointKey extends prefix with column i's value if the range pins it to one.
func (s *rangeScan) pointKey(ctx *gsql.Context, prefix []byte, i int, rce gsql.MySQLRangeColumnExpr) ([]byte, bool) {
	switch lb := rce.LowerBound.(type) {
	case gsql.BelowNull:
		if _, ok := rce.UpperBound.(gsql.AboveNull); ok {
			return append(clone(prefix), 0x00), true // IS NULL
		}
	case gsql.Below:
		ub, ok := rce.UpperBound.(gsql.Above)
		if !ok {
			return nil, false
		}
		if c, err := s.ix.types[i].Type.Compare(ctx, lb.Key, ub.Key); err != nil || c != 0 {
			return nil, false
		}
		key := s.boundKey(ctx, prefix, i, lb.Key, nil)
		return key, key != nil
	}
	return nil, false
}

// boundKey is prefix plus the encoding of v as column i, or fallback when v
// does not convert exactly to the column's type.
func (s *rangeScan) boundKey(ctx *gsql.Context, prefix []byte, i int, v any, fallback []byte) []byte {
	typ := s.ix.types[i].Type
	cv, inRange, err := typ.Convert(ctx, v)
	if err != nil || inRange != gsql.InRange || cv == nil {
		return fallback
	}
	if c, err := typ.Compare(ctx, cv, v); err != nil || c != 0 {
		return fallback
	}
	key, err := s.ix.ix.AppendColumnKey(clone(prefix), i, cv)
	if err != nil {
		return fallback
	}
	return key
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// past reports whether key is beyond the scan's stop prefix.
func (s *rangeScan) past(key []byte) bool {
	if !s.bounded {
		return false
	}
	n := min(len(key), len(s.stop))
	return bytes.Compare(key[:n], s.stop) > 0
}

// match checks a row against every column of the range exactly.
func (s *rangeScan) match(ctx *gsql.Context, row memdb.Row) (bool, error) {
	cols := s.ix.ix.Columns()
	for i, rce := range s.rng {
		if i >= len(cols) {
			break
		}
		ok, err := inRange(ctx, rce, row[cols[i]])
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func inRange(ctx *gsql.Context, rce gsql.MySQLRangeColumnExpr, v any) (bool, error) {
	cmp := func(key any) (int, error) { return rce.Typ.Compare(ctx, v, key) }
	switch lb := rce.LowerBound.(type) {
	case gsql.AboveAll:
		return false, nil
	case gsql.AboveNull:
		if v == nil {
			return false, nil
		}
	case gsql.Below:
		if v == nil {
			return false, nil
		}
		if c, err := cmp(lb.Key); err != nil || c < 0 {
			return false, err
		}
	case gsql.Above:
		if v == nil {
			return false, nil
		}
		if c, err := cmp(lb.Key); err != nil || c <= 0 {
			return false, err
		}
	}
	switch ub := rce.UpperBound.(type) {
	case gsql.BelowNull:
		return false, nil
	case gsql.AboveNull:
		return v == nil, nil
	case gsql.Above:
		if v != nil {
			if c, err := cmp(ub.Key); err != nil || c > 0 {
				return false, err
			}
		}
	case gsql.Below:
		if v != nil {
			if c, err := cmp(ub.Key); err != nil || c >= 0 {
				return false, err
			}
		}
	}
	return true, nil
}
