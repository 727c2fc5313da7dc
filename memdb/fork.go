package memdb

import (
	"bytes"
	"cmp"
	"errors"
	"slices"

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

// Track makes the transaction record every row change as it is made, so
// that what each of several commands applied in one transaction changed
// can be read (ChangesSince) without a transaction per command: replaying
// the shop's workload so ran at the speed of a batched replay instead of
// a tenth of it (a commit per command copies each index's path anew).
func (t *Txn) Track() { t.tracking = true }

// Mark is the position in the changes tracked so far: ChangesSince(Mark())
// taken after a command lists what it changed.
func (t *Txn) Mark() int { return len(t.journal) }

// ChangesSince lists the rows changed since mark (Track must be on), as
// Changes does: by table in declaration order and by primary key, each
// row once (its state before the first change and after the last), a row
// put back as it was not listed.
func (t *Txn) ChangesSince(mark int) []Change {
	type keyed struct {
		Change
		ti  int
		key []byte
	}
	type id struct {
		ti  int
		key string
	}
	var rows []keyed
	at := map[id]int{}
	for _, c := range t.journal[mark:] {
		row := c.After
		if row == nil {
			row = c.Before
		}
		ti, key := t.im.ord[c.Table], mustKey(c.Table.primary, row)
		if i, ok := at[id{ti, string(key)}]; ok {
			rows[i].After = c.After
			continue
		}
		at[id{ti, string(key)}] = len(rows)
		rows = append(rows, keyed{c, ti, key})
	}
	slices.SortFunc(rows, func(a, b keyed) int { return cmp.Or(cmp.Compare(a.ti, b.ti), bytes.Compare(a.key, b.key)) })
	changes := make([]Change, 0, len(rows))
	for _, r := range rows {
		if r.Before == nil && r.After == nil || r.Before != nil && r.After != nil && sameRow(r.Table, r.Before, r.After) {
			continue
		}
		changes = append(changes, r.Change)
	}
	return changes
}
