package memdb

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/shopspring/decimal"

	gomemdb "github.com/hashicorp/go-memdb"
)

// Row is one row of a table: a value per column, in column order, each of the
// Go type of its column's kind (or nil for NULL). Rows held by the image are
// shared by every snapshot that contains them and must never be modified:
// an update stores a new Row.
type Row []any

// RowBytes is the size of a row's values: a string's or byte string's
// length, 8 for a number, 24 for a time or a decimal (their Go sizes), 0 for
// NULL. The per-table sums (Bytes) are a data size, cheap to keep on every
// write; the heap also holds index trees and the values' boxes.
func RowBytes(row Row) int64 {
	var n int64
	for _, v := range row {
		switch v := v.(type) {
		case nil:
		case string:
			n += int64(len(v))
		case []byte:
			n += int64(len(v))
		case time.Time, decimal.Decimal:
			n += 24
		default:
			n += 8
		}
	}
	return n
}

// tableSize is what a table holds: its rows, and the bytes of their values.
type tableSize struct{ rows, bytes int64 }

// rowCounts are the sizes of every table in one committed state. A
// published map is never modified: Commit replaces it with a new one, so each
// snapshot keeps the sizes of its own state.
type rowCounts map[*Table]tableSize

// Image is an application's working image: the tables, and the go-memdb
// database that holds their rows. One writer at a time changes it through a
// Txn; readers use Snapshots.
type Image struct {
	tables []*Table
	byName map[string]*Table
	db     *gomemdb.MemDB
	counts rowCounts // of the committed state
}

// NewImage creates an empty image of the given tables.
func NewImage(tables ...*Table) (*Image, error) {
	schema := &gomemdb.DBSchema{Tables: map[string]*gomemdb.TableSchema{}}
	im := &Image{tables: tables, byName: make(map[string]*Table, len(tables)), counts: rowCounts{}}
	for _, t := range tables {
		if _, dup := im.byName[t.Name()]; dup {
			return nil, fmt.Errorf("memdb: table %s declared twice", t.Name())
		}
		im.byName[t.Name()] = t
		ts := &gomemdb.TableSchema{Name: t.Name(), Indexes: map[string]*gomemdb.IndexSchema{}}
		for _, ix := range append([]*Index{t.primary}, t.indexes...) {
			// Every go-memdb index is declared unique: our keys are made
			// distinct by appending the primary key where needed (Index.Key),
			// which keeps the key order ours and the upper-bound check simple.
			ts.Indexes[ix.memdbName()] = &gomemdb.IndexSchema{Name: ix.memdbName(), Unique: true, Indexer: keyIndexer{ix}}
		}
		schema.Tables[t.Name()] = ts
	}
	db, err := gomemdb.NewMemDB(schema)
	if err != nil {
		return nil, fmt.Errorf("memdb: %w", err)
	}
	// The image writes to a snapshot of the new database, never to the
	// database itself: go-memdb tracks every node a write changes only in
	// its primary database, to close the nodes' watch channels at commit, and
	// once a transaction changes more than 8192 nodes that commit walks both
	// whole trees to find them. Nothing in Imago watches rows (readers hold
	// snapshots), so that work is pure cost: it made loading a checkpoint
	// quadratic.
	im.db = db.Snapshot()
	return im, nil
}

// Tables are the image's tables in declaration order.
func (im *Image) Tables() []*Table { return im.tables }

// Table returns the table with the given name.
func (im *Image) Table(name string) (*Table, bool) {
	t, ok := im.byName[name]
	return t, ok
}

// Snapshot returns an immutable view of the image's committed state. O(1).
func (im *Image) Snapshot() *Snapshot {
	db := im.db.Snapshot()
	// One read transaction serves every read of the snapshot: a go-memdb
	// read transaction only reads immutable trees, so it is safe to share,
	// and a snapshot's reads then allocate no transaction each.
	return &Snapshot{reader{im: im, db: db, tx: db.Txn(false), counts: im.counts}}
}

// Reset makes the working image the state of s, dropping everything
// committed after it. The writer uses it when the log could not be synced.
func (im *Image) Reset(s *Snapshot) {
	im.db, im.counts = s.db.Snapshot(), s.counts
}

// Txn starts the write transaction. Only one may be open at a time; it must
// end with Commit or Abort.
func (im *Image) Txn() *Txn {
	return &Txn{reader: reader{im: im, db: im.db, tx: im.db.Txn(true), counts: im.counts}, deltas: map[*Table]tableSize{}}
}

// keyIndexer is the go-memdb indexer of one of our indexes: the key of a row
// is its order-preserving encoding; lookups pass keys already encoded.
type keyIndexer struct{ ix *Index }

func (k keyIndexer) FromObject(obj any) (bool, []byte, error) {
	key, err := k.ix.Key(obj.(Row))
	return err == nil, key, err
}

func (k keyIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("memdb: index %s takes one encoded key", k.ix.Name)
	}
	key, ok := args[0].([]byte)
	if !ok {
		return nil, fmt.Errorf("memdb: index %s takes an encoded key, got %T", k.ix.Name, args[0])
	}
	return key, nil
}

// reader is the read side shared by Snapshot and Txn.
type reader struct {
	im *Image
	db *gomemdb.MemDB
	tx *gomemdb.Txn // the write transaction, or a Snapshot's shared read transaction
	// counts of the committed state read: a Txn's counts exclude its own changes.
	counts rowCounts
}

func (r *reader) txn() *gomemdb.Txn {
	if r.tx != nil {
		return r.tx
	}
	return r.db.Txn(false)
}

// Tables are the image's tables.
func (r *reader) Tables() []*Table { return r.im.tables }

// Table returns the table with the given name.
func (r *reader) Table(name string) (*Table, bool) { return r.im.Table(name) }

// Get returns the row of t whose primary key is pk.
func (r *reader) Get(t *Table, pk ...any) (Row, bool, error) {
	key, err := t.primary.KeyPrefix(pk...)
	if err != nil {
		return nil, false, err
	}
	if len(pk) != len(t.primary.cols) {
		return nil, false, fmt.Errorf("memdb: table %s: primary key has %d columns, got %d values", t.Name(), len(t.primary.cols), len(pk))
	}
	return r.getKey(t.primary, key)
}

func (r *reader) getKey(ix *Index, key []byte) (Row, bool, error) {
	obj, err := r.txn().First(ix.table.Name(), ix.memdbName(), key)
	if err != nil || obj == nil {
		return nil, false, err
	}
	return obj.(Row), true, nil
}

// First returns the first row, in index order, whose leading index columns
// equal vals: for a unique index with all its columns given, the one row.
func (r *reader) First(ix *Index, vals ...any) (Row, bool, error) {
	it, err := r.Prefix(ix, vals...)
	if err != nil {
		return nil, false, err
	}
	row, _ := it.Next()
	return row, row != nil, nil
}

// Prefix iterates, in index order, the rows whose leading index columns
// equal vals (all rows for no vals).
func (r *reader) Prefix(ix *Index, vals ...any) (*Iterator, error) {
	prefix, err := ix.KeyPrefix(vals...)
	if err != nil {
		return nil, err
	}
	it, err := r.Scan(ix, prefix)
	if err != nil {
		return nil, err
	}
	it.prefix = prefix
	return it, nil
}

// Scan iterates the rows of ix's table in index order from the first row
// whose key is at or after from. Callers stop where their range ends.
func (r *reader) Scan(ix *Index, from []byte) (*Iterator, error) {
	it, err := r.txn().LowerBound(ix.table.Name(), ix.memdbName(), from)
	if err != nil {
		return nil, fmt.Errorf("memdb: scan %s.%s: %w", ix.table.Name(), ix.Name, err)
	}
	return &Iterator{ix: ix, it: it}, nil
}

// Count is the number of rows in t: a map lookup, as the SQL planner asks
// it several times per statement.
func (r *reader) Count(t *Table) int64 { return r.counts[t].rows }

// Bytes is the size of the values held by t's rows (RowBytes summed): what
// the data weighs, without go-memdb's index trees and Go's boxing.
func (r *reader) Bytes(t *Table) int64 { return r.counts[t].bytes }

// Iterator walks rows in index order.
type Iterator struct {
	ix     *Index
	it     gomemdb.ResultIterator
	key    []byte
	prefix []byte // set by Prefix: the iteration ends where keys stop having it
}

// Next returns the next row and its index key, or nil at the end. The key is
// valid until the following call.
func (it *Iterator) Next() (Row, []byte) {
	row := it.NextRow()
	if row == nil {
		return nil, nil
	}
	// Keys of stored rows always encode: they were checked on insert.
	it.key, _ = it.ix.appendKeyTo(it.key[:0], row)
	if it.prefix != nil && !bytes.HasPrefix(it.key, it.prefix) {
		it.prefix, it.it = nil, emptyResults{}
		return nil, nil
	}
	return row, it.key
}

// NextRow returns the next row without its key (cheaper, for full scans of
// iterators without a prefix), or nil at the end.
func (it *Iterator) NextRow() Row {
	obj := it.it.Next()
	if obj == nil {
		return nil
	}
	return obj.(Row)
}

type emptyResults struct{}

func (emptyResults) WatchCh() <-chan struct{} { return nil }
func (emptyResults) Next() any                { return nil }

// Snapshot is an immutable, consistent view of the image at one point.
// It is safe for concurrent use; reads take no locks.
type Snapshot struct{ reader }

// Txn is the image's write transaction. Every change is checked against the
// table's declaration and constraints; a failed change leaves the transaction
// as it was, and Abort drops everything the transaction did.
type Txn struct {
	reader
	deltas map[*Table]tableSize
	done   bool
}

// ConstraintError reports a primary-key or unique-index violation, or a
// missing row.
type ConstraintError struct {
	Table string
	Index string
	Key   []any
	Msg   string
}

func (e *ConstraintError) Error() string {
	return fmt.Sprintf("memdb: table %s, index %s, key %v: %s", e.Table, e.Index, e.Key, e.Msg)
}

// ErrConstraint matches every *ConstraintError with errors.Is.
var ErrConstraint = errors.New("memdb: constraint violated")

// Is lets errors.Is(err, ErrConstraint) match.
func (e *ConstraintError) Is(target error) bool { return target == ErrConstraint }

func (ix *Index) values(row Row) []any {
	vals := make([]any, len(ix.cols))
	for i, p := range ix.cols {
		vals[i] = row[p]
	}
	return vals
}

// Insert adds a new row. It fails if the primary key or a unique key is taken.
func (t *Txn) Insert(tb *Table, row Row) error { return t.put(tb, row, false) }

// Update replaces the row with the same primary key. It fails if there is no
// such row or a unique key of the new row is taken by another row.
func (t *Txn) Update(tb *Table, row Row) error { return t.put(tb, row, true) }

func (t *Txn) put(tb *Table, row Row, update bool) error {
	if err := tb.checkRow(row); err != nil {
		return err
	}
	pk := mustKey(tb.primary, row)
	old, found, err := t.getKey(tb.primary, pk)
	switch {
	case err != nil:
		return err
	case found && !update:
		return &ConstraintError{Table: tb.Name(), Index: "PRIMARY", Key: tb.primary.values(row), Msg: "duplicate primary key"}
	case !found && update:
		return &ConstraintError{Table: tb.Name(), Index: "PRIMARY", Key: tb.primary.values(row), Msg: "no such row"}
	}
	if err := t.checkUnique(tb, row, pk); err != nil {
		return err
	}
	if err := t.tx.Insert(tb.Name(), row); err != nil {
		return fmt.Errorf("memdb: write %s: %w", tb.Name(), err)
	}
	d := t.deltas[tb]
	if update {
		d.bytes -= RowBytes(old)
	} else {
		d.rows++
	}
	d.bytes += RowBytes(row)
	t.deltas[tb] = d
	return nil
}

// Delete removes the row with primary key pk. It fails if there is none.
func (t *Txn) Delete(tb *Table, pk ...any) error {
	row, found, err := t.Get(tb, pk...)
	if err != nil {
		return err
	}
	if !found {
		return &ConstraintError{Table: tb.Name(), Index: "PRIMARY", Key: pk, Msg: "no such row"}
	}
	if err := t.tx.Delete(tb.Name(), row); err != nil {
		return fmt.Errorf("memdb: delete from %s: %w", tb.Name(), err)
	}
	d := t.deltas[tb]
	d.rows--
	d.bytes -= RowBytes(row)
	t.deltas[tb] = d
	return nil
}

// checkUnique fails if another row (another primary key than pk) holds one
// of row's unique keys. go-memdb does not enforce uniqueness itself.
func (t *Txn) checkUnique(tb *Table, row Row, pk []byte) error {
	for _, ix := range tb.indexes {
		if !ix.Unique {
			continue
		}
		key := mustKey(ix, row)
		other, found, err := t.getKey(ix, key)
		if err != nil {
			return err
		}
		if found && !bytes.Equal(mustKey(tb.primary, other), pk) {
			return &ConstraintError{Table: tb.Name(), Index: ix.Name, Key: ix.values(row), Msg: "duplicate value for unique index"}
		}
	}
	return nil
}

// mustKey encodes the key of a row that checkRow accepted, so it cannot fail.
func mustKey(ix *Index, row Row) []byte {
	key, err := ix.Key(row)
	if err != nil {
		panic(fmt.Sprintf("memdb: key of a checked row: %v", err))
	}
	return key
}

// Commit makes the transaction's changes the image's committed state.
func (t *Txn) Commit() error {
	if t.done {
		return errors.New("memdb: transaction already ended")
	}
	t.done = true
	t.tx.Commit()
	t.im.counts = t.counts.with(t.deltas)
	return nil
}

// Abort drops the transaction's changes. Safe after Commit.
func (t *Txn) Abort() {
	if !t.done {
		t.done = true
		t.tx.Abort()
	}
}

// with returns the counts after deltas: c itself if nothing changed, else a
// new map (c may be held by snapshots).
func (c rowCounts) with(deltas map[*Table]tableSize) rowCounts {
	changed := false
	for _, d := range deltas {
		changed = changed || d != tableSize{}
	}
	if !changed {
		return c
	}
	next := maps.Clone(c)
	for tb, d := range deltas {
		next[tb] = tableSize{rows: next[tb].rows + d.rows, bytes: next[tb].bytes + d.bytes}
	}
	return next
}
