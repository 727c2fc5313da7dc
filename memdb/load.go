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
	order, err := loadEntries(ix, rows)
	if err != nil {
		return err
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

// loadEntries makes the entries of ix for rows, given in primary-key
// order, and returns them in key order (if the rows were in order: the
// caller checks).
//
// The entries are one allocation, and their keys share 64 KiB chunks: a
// key or entry replaced later stays allocated as long as another of its
// allocation is alive (at most the loaded keys' and entries' own size);
// one allocation per key cost 10% of a load's CPU on the shop.
//
// A secondary index's key is the indexed values followed by the primary
// key (a unique index's without NULLs: the values alone), so entries with
// equal values are in key order already. When values repeat (the shop's
// order statuses, countries, the skus of order lines), the entries are
// grouped by value and only the distinct values sorted; a sort of all the
// entries was 11% of a load's CPU.
func loadEntries(ix *Index, rows []Row) ([]*entry, error) {
	entries := make([]entry, len(rows))
	valuesEnd := make([]int32, len(rows))
	var chunk []byte
	for i, row := range rows {
		if cap(chunk)-len(chunk) < 256 {
			chunk = make([]byte, 0, 64<<10)
		}
		start := len(chunk)
		key, end, err := ix.appendKeyParts(chunk, row)
		if err != nil {
			return nil, fmt.Errorf("memdb: load %s.%s: key of row %d: %w", ix.table.Name(), ix.Name, i+1, err)
		}
		chunk = key
		entries[i] = entry{key: key[start:len(key):len(key)], row: row}
		valuesEnd[i] = int32(end - start)
	}
	order := make([]*entry, len(entries))
	if ix.Primary {
		for i := range entries {
			order[i] = &entries[i]
		}
		return order, nil
	}
	if !ix.Unique && groupByValues(entries, valuesEnd, order) {
		return order, nil
	}
	for i := range entries {
		order[i] = &entries[i]
	}
	slices.SortFunc(order, func(a, b *entry) int { return bytes.Compare(a.key, b.key) })
	return order, nil
}

// groupByValues fills order with entries grouped by their values (the key
// up to valuesEnd), the groups sorted, each in its entries' order. It gives
// up, returning false, when the values are mostly distinct (more than one
// group per eight entries): then a sort costs less.
func groupByValues(entries []entry, valuesEnd []int32, order []*entry) bool {
	limit := len(entries) / 8
	group := make(map[string]int32)
	var firsts []int32 // of each group, its first entry
	next := make([]int32, len(entries))
	var lasts []int32
	for i := range entries {
		values := entries[i].key[:valuesEnd[i]]
		g, ok := group[string(values)]
		if !ok {
			if len(firsts) >= limit {
				return false
			}
			g = int32(len(firsts))
			group[string(values)] = g
			firsts, lasts = append(firsts, int32(i)), append(lasts, int32(i))
			next[i] = -1
			continue
		}
		next[lasts[g]], next[i], lasts[g] = int32(i), -1, int32(i)
	}
	slices.SortFunc(firsts, func(a, b int32) int {
		return bytes.Compare(entries[a].key[:valuesEnd[a]], entries[b].key[:valuesEnd[b]])
	})
	n := 0
	for _, first := range firsts {
		for i := first; i >= 0; i = next[i] {
			order[n] = &entries[i]
			n++
		}
	}
	return true
}
