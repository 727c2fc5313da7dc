package memdb

import (
	"bytes"
	"fmt"
	"sync"
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

// entry is one index entry: its key and its row. The index trees hold
// *entry values, so go-memdb's indexer reads the key instead of encoding it
// again, and a Txn buffers entries (a nil row marks a removed key) that its
// commit hands to go-memdb as they are. An entry is never modified.
type entry struct {
	key []byte
	row Row
}

// Image is an application's working image: the tables, and their rows in
// go-memdb. One writer at a time changes it through a Txn; readers use
// Snapshots.
//
// Each index is a go-memdb database of its own (one table, whose "id" index
// is ours). go-memdb allows one write transaction per database, so separate
// databases let a checkpoint load build a table's indexes in parallel and a
// commit write them in parallel; a state is consistent across them because
// only the writer commits and takes snapshots, between commits.
type Image struct {
	tables []*Table
	byName map[string]*Table
	ord    map[*Table]int // position in tables
	dbs    [][]*gomemdb.MemDB
	counts rowCounts  // of the committed state
	loadMu sync.Mutex // serialises Load's update of counts
}

// treeTable is the name of the one go-memdb table of an index's database.
const treeTable = "entries"

// treeSchema is the schema of every index's database.
var treeSchema = &gomemdb.DBSchema{Tables: map[string]*gomemdb.TableSchema{
	treeTable: {Name: treeTable, Indexes: map[string]*gomemdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: entryIndexer{}},
	}},
}}

// NewImage creates an empty image of the given tables.
func NewImage(tables ...*Table) (*Image, error) {
	im := &Image{tables: tables, byName: make(map[string]*Table, len(tables)), ord: make(map[*Table]int, len(tables)), counts: rowCounts{}}
	for i, t := range tables {
		if _, dup := im.byName[t.Name()]; dup {
			return nil, fmt.Errorf("memdb: table %s declared twice", t.Name())
		}
		im.byName[t.Name()], im.ord[t] = t, i
		dbs := make([]*gomemdb.MemDB, 1+len(t.indexes))
		for j := range dbs {
			db, err := gomemdb.NewMemDB(treeSchema)
			if err != nil {
				return nil, fmt.Errorf("memdb: %w", err)
			}
			// The image writes to a snapshot of the new database, never to
			// the database itself: go-memdb tracks every node a write changes
			// only in its primary database, to close the nodes' watch
			// channels at commit, and once a transaction changes more than
			// 8192 nodes that commit walks both whole trees to find them.
			// Nothing in Imago watches rows (readers hold snapshots), so that
			// work is pure cost: it made loading a checkpoint quadratic.
			dbs[j] = db.Snapshot()
		}
		im.dbs = append(im.dbs, dbs)
	}
	return im, nil
}

// Tables are the image's tables in declaration order.
func (im *Image) Tables() []*Table { return im.tables }

// Table returns the table with the given name.
func (im *Image) Table(name string) (*Table, bool) {
	t, ok := im.byName[name]
	return t, ok
}

// Snapshot returns an immutable view of the image's committed state. It
// costs two small allocations per index.
func (im *Image) Snapshot() *Snapshot {
	s := &Snapshot{reader{im: im, counts: im.counts}}
	s.dbs = make([][]*gomemdb.MemDB, len(im.dbs))
	s.reads = make([][]*gomemdb.Txn, len(im.dbs))
	for i, dbs := range im.dbs {
		s.dbs[i] = make([]*gomemdb.MemDB, len(dbs))
		s.reads[i] = make([]*gomemdb.Txn, len(dbs))
		for j, db := range dbs {
			// One read transaction serves every read of the snapshot: a
			// go-memdb read transaction only reads immutable trees, so it is
			// safe to share, and reads then allocate no transaction each.
			s.dbs[i][j] = db.Snapshot()
			s.reads[i][j] = s.dbs[i][j].Txn(false)
		}
	}
	return s
}

// Reset makes the working image the state of s, dropping everything
// committed after it. The writer uses it when the log could not be synced.
func (im *Image) Reset(s *Snapshot) {
	for i, dbs := range s.dbs {
		for j, db := range dbs {
			im.dbs[i][j] = db.Snapshot()
		}
	}
	im.counts = s.counts
}

// entryIndexer is the go-memdb indexer of an index's database: the key of
// an entry is its own; lookups pass keys already encoded.
type entryIndexer struct{}

func (entryIndexer) FromObject(obj any) (bool, []byte, error) { return true, obj.(*entry).key, nil }

func (entryIndexer) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("memdb: an index lookup takes one encoded key, got %d values", len(args))
	}
	key, ok := args[0].([]byte)
	if !ok {
		return nil, fmt.Errorf("memdb: an index lookup takes an encoded key, got %T", args[0])
	}
	return key, nil
}

// reader is the read side shared by Snapshot and Txn: the committed state it
// reads, one go-memdb database per index.
type reader struct {
	im    *Image
	dbs   [][]*gomemdb.MemDB
	reads [][]*gomemdb.Txn // read transactions over dbs; a Txn opens them on first use
	// counts of the committed state read: a Txn's counts exclude its own changes.
	counts rowCounts
	// writes are a Txn's changes not committed yet, per table and index (nil
	// for a Snapshot, or an index the Txn has not changed): reads see them.
	writes [][]*buffer
}

// table returns t's position in the image.
func (r *reader) table(t *Table) (int, error) {
	i, ok := r.im.ord[t]
	if !ok {
		return 0, fmt.Errorf("memdb: table %s is not in this image", t.Name())
	}
	return i, nil
}

func (r *reader) read(ti, pos int) *gomemdb.Txn {
	if r.reads[ti][pos] == nil {
		r.reads[ti][pos] = r.dbs[ti][pos].Txn(false)
	}
	return r.reads[ti][pos]
}

func (r *reader) buffered(ti, pos int) *buffer {
	if r.writes == nil || r.writes[ti] == nil {
		return nil
	}
	return r.writes[ti][pos]
}

// Tables are the image's tables.
func (r *reader) Tables() []*Table { return r.im.tables }

// Table returns the table with the given name.
func (r *reader) Table(name string) (*Table, bool) { return r.im.Table(name) }

// Get returns the row of t whose primary key is pk.
func (r *reader) Get(t *Table, pk ...any) (Row, bool, error) {
	if len(pk) != len(t.primary.cols) {
		return nil, false, fmt.Errorf("memdb: table %s: primary key has %d columns, got %d values", t.Name(), len(t.primary.cols), len(pk))
	}
	key, err := t.primary.KeyPrefix(pk...)
	if err != nil {
		return nil, false, err
	}
	ti, err := r.table(t)
	if err != nil {
		return nil, false, err
	}
	row := r.getKey(ti, 0, key)
	return row, row != nil, nil
}

// getKey returns the row of index pos of table ti whose key is key, or nil.
func (r *reader) getKey(ti, pos int, key []byte) Row {
	if w := r.buffered(ti, pos); w != nil {
		if e, ok := w.get(key); ok {
			return e.row
		}
	}
	// The unique "id" index of a tree cannot fail a lookup by a []byte key.
	obj, _ := r.read(ti, pos).First(treeTable, "id", key)
	if obj == nil {
		return nil
	}
	return obj.(*entry).row
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
// whose key is at or after from. Callers stop where their range ends. The
// iterator sees the state of the moment it was created.
func (r *reader) Scan(ix *Index, from []byte) (*Iterator, error) {
	ti, err := r.table(ix.table)
	if err != nil {
		return nil, err
	}
	base, err := r.read(ti, ix.pos).LowerBound(treeTable, "id", from)
	if err != nil {
		return nil, fmt.Errorf("memdb: scan %s.%s: %w", ix.table.Name(), ix.Name, err)
	}
	it := &Iterator{base: base}
	if w := r.buffered(ti, ix.pos); w != nil {
		it.merge = w.from(from)
	}
	return it, nil
}

// Count is the number of rows in t: a map lookup, as the SQL planner asks
// it several times per statement.
func (r *reader) Count(t *Table) int64 { return r.counts[t].rows }

// Bytes is the size of the values held by t's rows (RowBytes summed): what
// the data weighs, without go-memdb's index trees and Go's boxing.
func (r *reader) Bytes(t *Table) int64 { return r.counts[t].bytes }

// Iterator walks rows in index order.
type Iterator struct {
	base   gomemdb.ResultIterator // committed entries
	merge  *bufferCursor          // a Txn's uncommitted entries, merged over base; nil for snapshots
	peeked *entry                 // base's next entry, read ahead while merging
	prefix []byte                 // set by Prefix: the iteration ends where keys stop having it
}

// Next returns the next row and its index key, or nil at the end. The key
// must not be modified.
func (it *Iterator) Next() (Row, []byte) {
	e := it.next()
	if e == nil {
		return nil, nil
	}
	if it.prefix != nil && !bytes.HasPrefix(e.key, it.prefix) {
		it.base, it.merge, it.peeked = emptyResults{}, nil, nil
		return nil, nil
	}
	return e.row, e.key
}

// NextRow returns the next row, or nil at the end.
func (it *Iterator) NextRow() Row {
	row, _ := it.Next()
	return row
}

func (it *Iterator) next() *entry {
	if it.merge == nil {
		return nextEntry(it.base)
	}
	for {
		if it.peeked == nil {
			it.peeked = nextEntry(it.base)
		}
		b, u := it.peeked, it.merge.item()
		switch {
		case u == nil:
			it.peeked = nil
			return b
		case b != nil && bytes.Compare(b.key, u.key) < 0:
			it.peeked = nil
			return b
		}
		// The buffered entry comes first, or replaces the committed one.
		if b != nil && bytes.Equal(b.key, u.key) {
			it.peeked = nil
		}
		it.merge.advance()
		if u.row != nil {
			return u
		}
	}
}

func nextEntry(it gomemdb.ResultIterator) *entry {
	obj := it.Next()
	if obj == nil {
		return nil
	}
	return obj.(*entry)
}

type emptyResults struct{}

func (emptyResults) WatchCh() <-chan struct{} { return nil }
func (emptyResults) Next() any                { return nil }

// Snapshot is an immutable, consistent view of the image at one point.
// It is safe for concurrent use; reads take no locks.
type Snapshot struct{ reader }
