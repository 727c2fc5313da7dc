package memdb

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type person struct {
	ID      int64      `imago:"id"`
	Email   *string    `imago:"email"`
	Team    string     `imago:"team"`
	Active  bool       `imago:"active"`
	Created time.Time  `imago:"created"`
	Left    *time.Time `imago:"left_at"`
}

var people = MustDefine(TableDef{
	Name: "people",
	Columns: []Column{
		{Name: "id", Type: BigInt},
		{Name: "email", Type: Varchar(20), Nullable: true},
		{Name: "team", Type: Varchar(10)},
		{Name: "active", Type: Boolean},
		{Name: "created", Type: Datetime},
		{Name: "left_at", Type: Datetime, Nullable: true},
	},
	PrimaryKey: []string{"id"},
	Indexes: []IndexDef{
		{Name: "email", Columns: []string{"email"}, Unique: true},
		{Name: "team", Columns: []string{"team", "active"}},
	},
})

var typedPeople = MustBind[person](people)

func str(s string) *string { return &s }

func newPeople(t *testing.T) *Image {
	im, err := NewImage(people)
	if err != nil {
		t.Fatal(err)
	}
	tx := im.Txn()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []person{
		{ID: 1, Email: str("a@x"), Team: "red", Active: true, Created: now},
		{ID: 2, Email: nil, Team: "red", Created: now},
		{ID: 3, Email: nil, Team: "blue", Active: true, Created: now},
	} {
		if err := typedPeople.Insert(tx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return im
}

func TestConstraintsAndCounts(t *testing.T) {
	im := newPeople(t)
	before := im.Snapshot()
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	tx := im.Txn()
	defer tx.Abort()
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"duplicate pk", typedPeople.Insert(tx, person{ID: 1, Team: "x", Created: now}), "duplicate primary key"},
		{"duplicate unique", typedPeople.Insert(tx, person{ID: 9, Email: str("a@x"), Team: "x", Created: now}), "duplicate value for unique index"},
		{"update missing", typedPeople.Update(tx, person{ID: 99, Team: "x", Created: now}), "no such row"},
		{"delete missing", tx.Delete(people, int64(99)), "no such row"},
		{"too long", typedPeople.Insert(tx, person{ID: 10, Team: "abcdefghijk", Created: now}), "people.team: value of 11 characters is longer than VARCHAR(10)"},
		{"not utc", typedPeople.Insert(tx, person{ID: 11, Team: "x", Created: now.In(time.FixedZone("X", 3600))}), "is not in UTC"},
		{"wrong go type", tx.Insert(people, Row{int32(5), nil, "x", int8(0), now, nil}), "want int64 for BIGINT"},
		{"null pk", tx.Insert(people, Row{nil, nil, "x", int8(0), now, nil}), "people.id: must not be NULL"},
		{"pk arity", func() error { _, _, err := tx.Get(people); return err }(), "primary key has 1 columns, got 0 values"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, c.err, c.want)
		}
	}
	if !errors.Is(cases[0].err, ErrConstraint) {
		t.Errorf("duplicate pk is not ErrConstraint")
	}
	// Many NULLs are allowed in a unique index, as in MySQL.
	if err := typedPeople.Insert(tx, person{ID: 4, Team: "blue", Created: now}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(people, int64(1)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	after := im.Snapshot()
	if before.Count(people) != 3 || after.Count(people) != 3 {
		t.Fatalf("counts: before %d, after %d; want 3 and 3", before.Count(people), after.Count(people))
	}
	if _, found, _ := before.Get(people, int64(1)); !found {
		t.Fatal("a snapshot saw a later delete")
	}
	// The email freed by the delete can be taken again.
	tx = im.Txn()
	if err := typedPeople.Insert(tx, person{ID: 5, Email: str("a@x"), Team: "x", Created: now}); err != nil {
		t.Fatal(err)
	}
	tx.Abort()
	if after.Count(people) != im.Snapshot().Count(people) || after.Bytes(people) != im.Snapshot().Bytes(people) {
		t.Fatal("an aborted insert changed the count or size")
	}
	// Sizes follow inserts, updates (to a longer team) and deletes, and each
	// snapshot keeps its own.
	tx = im.Txn()
	if err := typedPeople.Update(tx, person{ID: 2, Team: "much-more", Created: now}); err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	for _, s := range []*Snapshot{before, after, im.Snapshot()} {
		if got, want := s.Bytes(people), scannedBytes(t, s, people); got != want || got == 0 {
			t.Errorf("Bytes %d, the rows' values weigh %d", got, want)
		}
	}
	if before.Bytes(people) == after.Bytes(people) || after.Bytes(people) == im.Snapshot().Bytes(people) {
		t.Error("sizes did not change with the rows")
	}
}

func scannedBytes(t *testing.T, s *Snapshot, tb *Table) int64 {
	it, err := s.Scan(tb.Indexes()[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for row := it.NextRow(); row != nil; row = it.NextRow() {
		n += RowBytes(row)
	}
	return n
}

func TestTypedRoundTripAndPrefixScan(t *testing.T) {
	im := newPeople(t)
	snap := im.Snapshot()
	p, found, err := typedPeople.Get(snap, int64(1))
	if err != nil || !found || *p.Email != "a@x" || !p.Active || p.Left != nil {
		t.Fatalf("get: %+v %v %v", p, found, err)
	}
	it, _ := snap.Prefix(people.Indexes()[1], "red")
	var ids []int64
	for row, _ := it.Next(); row != nil; row, _ = it.Next() {
		ids = append(ids, row[0].(int64))
	}
	// (team, active) order: red/false (2) before red/true (1).
	if len(ids) != 2 || ids[0] != 2 || ids[1] != 1 {
		t.Fatalf("team=red in index order: %v, want [2 1]", ids)
	}
}

func TestDefineRejectsBadDeclarations(t *testing.T) {
	for _, c := range []struct {
		def  TableDef
		want string
	}{
		{TableDef{Name: "Bad Name"}, "table name"},
		{TableDef{Name: "t", Columns: []Column{{Name: "a", Type: BigInt}}, PrimaryKey: []string{"b"}}, `no column "b"`},
		{TableDef{Name: "t", Columns: []Column{{Name: "a", Type: BigInt, Nullable: true}}, PrimaryKey: []string{"a"}}, "must not be nullable"},
		{TableDef{Name: "t", Columns: []Column{{Name: "a", Type: BigInt}, {Name: "d", Type: Decimal(10, 2)}}, PrimaryKey: []string{"a"},
			Indexes: []IndexDef{{Name: "d", Columns: []string{"d"}}}}, "DECIMAL column d cannot be indexed"},
		{TableDef{Name: "t", Columns: []Column{{Name: "a", Type: Varchar(0)}}, PrimaryKey: []string{"a"}}, "length 0 out of range"},
	} {
		if _, err := Define(c.def); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.def, err, c.want)
		}
	}
	type wrong struct {
		ID int32 `imago:"id"`
	}
	if _, err := Bind[wrong](people); err == nil || !strings.Contains(err.Error(), "field type must be int64") {
		t.Errorf("bind with a wrong field type: %v", err)
	}
}
