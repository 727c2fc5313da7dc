package memdb

import (
	"bytes"
	"errors"

	gomemdb "github.com/hashicorp/go-memdb"
)

// Fork returns a private write transaction over the snapshot's state: it
// reads and writes like the image's Txn and checks the same constraints,
// but it can never be committed, so nothing it does reaches the image or
// any other reader. A what-if ("what would this command change?") runs in
// one and reads its Changes. Forks are independent of each other and of the
// writer.
func (s *Snapshot) Fork() *Txn {
	r := reader{im: s.im, dbs: s.dbs, counts: s.counts,
		reads: make([][]*gomemdb.Txn, len(s.dbs)), writes: make([][]*buffer, len(s.dbs))}
	for i, dbs := range s.dbs {
		r.reads[i] = make([]*gomemdb.Txn, len(dbs))
	}
	return &Txn{reader: r, deltas: map[*Table]tableSize{}, fork: true}
}

// errForkCommit is Commit on a Fork.
var errForkCommit = errors.New("memdb: a fork of a snapshot cannot be committed")

// Change is one row a transaction changed: Before is nil for an inserted
// row, After nil for a deleted one.
type Change struct {
	Table         *Table
	Before, After Row
}

// Changes lists the rows the transaction has changed so far, by table in
// declaration order and by primary key within a table. A row written and
// then put back as it was is not listed.
func (t *Txn) Changes() []Change {
	var changes []Change
	for ti, tb := range t.im.tables {
		primary := t.buffered(ti, 0)
		if primary == nil {
			continue
		}
		primary.tree.Scan(func(e *entry) bool {
			var before Row
			if obj, _ := t.read(ti, 0).First(treeTable, "id", e.key); obj != nil {
				before = obj.(*entry).row
			}
			if before == nil && e.row == nil || before != nil && e.row != nil && sameRow(tb, before, e.row) {
				return true
			}
			changes = append(changes, Change{Table: tb, Before: before, After: e.row})
			return true
		})
	}
	return changes
}

// sameRow tells whether two rows of t hold the same values, compared as
// Hash encodes them (so 1.50 and 1.5 differ, as they read back differently).
func sameRow(t *Table, a, b Row) bool {
	var ea, eb []byte
	for i, c := range t.def.Columns {
		ea = appendHashValue(ea, c.Type.Kind, a[i])
		eb = appendHashValue(eb, c.Type.Kind, b[i])
	}
	return bytes.Equal(ea, eb)
}

// Key is the primary key of the changed row.
func (c Change) Key() []any {
	row := c.After
	if row == nil {
		row = c.Before
	}
	return c.Table.primary.values(row)
}
