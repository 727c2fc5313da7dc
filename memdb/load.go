package memdb

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
)

// Load fills the empty table t with rows given in primary-key order, as a
// checkpoint holds them. It is the fast way to build an image: instead of a
// Txn's per-row lookups and buffering, each index's entries are made at once,
// sorted (the primary key's already are), checked for duplicates and written
// to go-memdb in key order, which is the order its radix tree inserts
// fastest in; the table's indexes are built in parallel.
//
// Every row is checked against the declaration, and a duplicate primary or
// unique key, or rows out of order, fail the load. Load may be called for
// several tables at once, but not while a Txn is open; on an error the
// image holds part of the rows and should be dropped.
func (im *Image) Load(t *Table, rows []Row) error {
	ti, ok := im.ord[t]
	if !ok {
		return fmt.Errorf("memdb: table %s is not in this image", t.Name())
	}
	var size tableSize
	for i, row := range rows {
		if err := t.checkRow(row); err != nil {
			return fmt.Errorf("row %d: %w", i+1, err)
		}
		size.bytes += RowBytes(row)
	}
	size.rows = int64(len(rows))
	indexes := append([]*Index{t.primary}, t.indexes...)
	jobs := make([]func() error, len(indexes))
	for i, ix := range indexes {
		jobs[i] = func() error { return im.loadIndex(ti, ix, rows) }
	}
	if err := runJobs(runtime.GOMAXPROCS(0), jobs); err != nil {
		return err
	}
	im.loadMu.Lock()
	defer im.loadMu.Unlock()
	im.counts = im.counts.with(map[*Table]tableSize{t: size})
	return nil
}

// loadIndex builds the tree of index ix of table ti from rows.
func (im *Image) loadIndex(ti int, ix *Index, rows []Row) error {
	// One allocation for all the entries of the index: an entry replaced
	// later stays allocated as long as another of the array is alive, at
	// most the 48 bytes of each loaded row.
	entries := make([]entry, len(rows))
	for i, row := range rows {
		entries[i] = entry{key: mustKey(ix, row), row: row}
	}
	order := make([]*entry, len(entries))
	for i := range entries {
		order[i] = &entries[i]
	}
	if !ix.Primary {
		slices.SortFunc(order, func(a, b *entry) int { return bytes.Compare(a.key, b.key) })
	}
	for i := 1; i < len(order); i++ {
		switch c := bytes.Compare(order[i-1].key, order[i].key); {
		case c == 0:
			return &ConstraintError{Table: ix.table.Name(), Index: ix.Name, Key: ix.values(order[i].row), Msg: "duplicate key in loaded rows"}
		case c > 0:
			return fmt.Errorf("memdb: table %s: loaded rows are not in primary-key order at row %d", ix.table.Name(), i+1)
		}
	}
	tx := im.dbs[ti][ix.pos].Txn(true)
	defer tx.Abort()
	if err := writeEntries(tx, slices.Values(order)); err != nil {
		return fmt.Errorf("memdb: load %s.%s: %w", ix.table.Name(), ix.Name, err)
	}
	tx.Commit()
	return nil
}
