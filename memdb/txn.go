package memdb

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"sync"

	gomemdb "github.com/hashicorp/go-memdb"
	"github.com/tidwall/btree"
)

// Txn is the image's write transaction. Every change is checked against the
// table's declaration and constraints; a failed change leaves the transaction
// as it was, and Abort drops everything the transaction did.
//
// Changes are buffered per index, in key order, and reach go-memdb only at
// Commit. Reading inside a go-memdb write transaction clones the index's
// radix transaction, which drops its cache of nodes already copied, so that
// every write after a read copies its whole path again: commands read and
// write in turn, and that made the writer allocate ~10 KB per command. Reads
// of a Txn look in the buffer first, then in the committed state through
// read transactions, and Commit writes each index's buffer in key order.
type Txn struct {
	reader
	deltas map[*Table]tableSize
	done   bool
	fork   bool // a Snapshot's Fork: never committed
	// journal, when tracking (Track), is every row change in order.
	journal  []Change
	tracking bool
}

// Txn starts the write transaction. Only one may be open at a time; it must
// end with Commit or Abort.
func (im *Image) Txn() *Txn {
	r := reader{im: im, dbs: im.dbs, counts: im.counts,
		reads: make([][]*gomemdb.Txn, len(im.dbs)), writes: make([][]*buffer, len(im.dbs))}
	for i, dbs := range im.dbs {
		r.reads[i] = make([]*gomemdb.Txn, len(dbs))
	}
	return &Txn{reader: r, deltas: map[*Table]tableSize{}}
}

// buffer holds a Txn's changes to one index, in key order.
type buffer struct{ tree *btree.BTreeG[*entry] }

func lessKey(a, b *entry) bool { return bytes.Compare(a.key, b.key) < 0 }

func newBuffer() *buffer {
	// One goroutine uses a Txn: the tree needs no lock.
	return &buffer{tree: btree.NewBTreeGOptions(lessKey, btree.Options{NoLocks: true})}
}

func (b *buffer) get(key []byte) (*entry, bool) { return b.tree.Get(&entry{key: key}) }

// from returns a cursor over the entries at or after key, as they are now:
// the tree is copied (copy-on-write, O(1)) so later writes do not show.
func (b *buffer) from(key []byte) *bufferCursor {
	c := &bufferCursor{it: b.tree.Copy().Iter()}
	c.ok = c.it.Seek(&entry{key: key})
	return c
}

// bufferCursor walks a buffer in key order.
type bufferCursor struct {
	it btree.IterG[*entry]
	ok bool
}

func (c *bufferCursor) item() *entry {
	if !c.ok {
		return nil
	}
	return c.it.Item()
}

func (c *bufferCursor) advance() { c.ok = c.it.Next() }

// write buffers e as the new state of its key in index pos of table ti.
func (t *Txn) write(ti, pos int, e *entry) {
	if t.writes[ti] == nil {
		t.writes[ti] = make([]*buffer, len(t.dbs[ti]))
	}
	if t.writes[ti][pos] == nil {
		t.writes[ti][pos] = newBuffer()
	}
	t.writes[ti][pos].tree.Set(e)
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
	ti, err := t.table(tb)
	if err != nil {
		return err
	}
	if err := tb.checkRow(row); err != nil {
		return err
	}
	pk := mustKey(tb.primary, row)
	old := t.getKey(ti, 0, pk)
	switch {
	case old != nil && !update:
		return &ConstraintError{Table: tb.Name(), Index: "PRIMARY", Key: tb.primary.values(row), Msg: "duplicate primary key"}
	case old == nil && update:
		return &ConstraintError{Table: tb.Name(), Index: "PRIMARY", Key: tb.primary.values(row), Msg: "no such row"}
	}
	keys := make([][]byte, len(tb.indexes))
	for i, ix := range tb.indexes {
		keys[i] = mustKey(ix, row)
		if err := t.checkUnique(ti, ix, keys[i], row, pk); err != nil {
			return err
		}
	}
	t.write(ti, 0, &entry{key: pk, row: row})
	if t.tracking {
		t.journal = append(t.journal, Change{Table: tb, Before: old, After: row})
	}
	for i, ix := range tb.indexes {
		if old != nil {
			if oldKey := mustKey(ix, old); !bytes.Equal(oldKey, keys[i]) {
				t.write(ti, ix.pos, &entry{key: oldKey})
			}
		}
		t.write(ti, ix.pos, &entry{key: keys[i], row: row})
	}
	d := t.deltas[tb]
	if old != nil {
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
	ti := t.im.ord[tb]
	t.write(ti, 0, &entry{key: mustKey(tb.primary, row)})
	if t.tracking {
		t.journal = append(t.journal, Change{Table: tb, Before: row})
	}
	for _, ix := range tb.indexes {
		t.write(ti, ix.pos, &entry{key: mustKey(ix, row)})
	}
	d := t.deltas[tb]
	d.rows--
	d.bytes -= RowBytes(row)
	t.deltas[tb] = d
	return nil
}

// checkUnique fails if another row (another primary key than pk) holds the
// key of row in the unique index ix. go-memdb does not enforce uniqueness.
func (t *Txn) checkUnique(ti int, ix *Index, key []byte, row Row, pk []byte) error {
	if !ix.Unique {
		return nil
	}
	other := t.getKey(ti, ix.pos, key)
	if other != nil && !bytes.Equal(mustKey(ix.table.primary, other), pk) {
		return &ConstraintError{Table: ix.table.Name(), Index: ix.Name, Key: ix.values(row), Msg: "duplicate value for unique index"}
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

// parallelEntries is the number of buffered entries from which Commit writes
// the indexes in parallel: below it, starting goroutines costs more.
const parallelEntries = 2048

// Commit makes the transaction's changes the image's committed state: each
// changed index's buffer is written to its go-memdb database in key order,
// the indexes in parallel for a large transaction, and the go-memdb
// transactions are committed once all are written.
func (t *Txn) Commit() error {
	if t.done {
		return errors.New("memdb: transaction already ended")
	}
	if t.fork {
		return errForkCommit
	}
	t.done = true
	var jobs []func() error
	var txns []*gomemdb.Txn
	total := 0
	for ti, bufs := range t.writes {
		for pos, b := range bufs {
			if b == nil {
				continue
			}
			tx := t.im.dbs[ti][pos].Txn(true)
			defer tx.Abort() // no-op once committed
			txns = append(txns, tx)
			jobs = append(jobs, func() error { return writeEntries(tx, b.tree.Scan) })
			total += b.tree.Len()
		}
	}
	workers := 1
	if total >= parallelEntries {
		workers = runtime.GOMAXPROCS(0)
	}
	if err := runJobs(workers, jobs); err != nil {
		// Only a bug gets here: every change was checked when buffered.
		return fmt.Errorf("memdb: commit: %w", err)
	}
	for _, tx := range txns {
		tx.Commit()
	}
	t.im.counts = t.counts.with(t.deltas)
	return nil
}

// writeEntries writes entries, given in key order by each, into a go-memdb
// write transaction of an index's database: a nil row removes its key.
func writeEntries(tx *gomemdb.Txn, each func(func(*entry) bool)) error {
	var err error
	each(func(e *entry) bool {
		if e.row != nil {
			err = tx.Insert(treeTable, e)
		} else if err = tx.Delete(treeTable, e); errors.Is(err, gomemdb.ErrNotFound) {
			err = nil // inserted and removed by the same transaction
		}
		return err == nil
	})
	return err
}

// runJobs runs jobs on up to workers goroutines and returns the first
// error in job order.
func runJobs(workers int, jobs []func() error) error {
	errs := make([]error, len(jobs))
	if workers <= 1 || len(jobs) <= 1 {
		for _, job := range jobs {
			if err := job(); err != nil {
				return err
			}
		}
		return nil
	}
	next := make(chan int, len(jobs))
	for i := range jobs {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = jobs[i]()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Count is the number of rows in t, with the transaction's changes.
func (t *Txn) Count(tb *Table) int64 { return t.counts[tb].rows + t.deltas[tb].rows }

// Abort drops the transaction's changes. Safe after Commit.
func (t *Txn) Abort() { t.done = true }

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
