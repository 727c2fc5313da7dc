package sql

import (
	"io"

	gsql "github.com/dolthub/go-mysql-server/sql"

	"github.com/imagodb/imago/memdb"
)

// PackedTable is an image table of Imago's own whose rows each hold many
// rows of the table SQL shows (imago.idempotency_keys: a bucket of keys per
// image row, see package applier). It is served read-only by a scan that
// unpacks each image row; it has no indexes and travels with AS OF like the
// app's tables.
type PackedTable struct {
	Name    string         // the name SQL shows
	Columns []memdb.Column // the columns SQL shows
	Stored  *memdb.Table   // the image table holding the packed rows
	// Unpack gives the rows of Columns an image row of Stored holds.
	Unpack func(memdb.Row) ([]memdb.Row, error)
}

// packedTable is a PackedTable in one database (the present or a past
// state's).
type packedTable struct {
	db     *database
	def    PackedTable
	schema gsql.Schema
}

var _ gsql.Table = (*packedTable)(nil)

func newPackedTable(db *database, def PackedTable) *packedTable {
	t := &packedTable{db: db, def: def}
	for _, c := range def.Columns {
		t.schema = append(t.schema, &gsql.Column{Name: c.Name, Type: sqlType(c.Type), Nullable: c.Nullable,
			Source: def.Name, DatabaseSource: db.name})
	}
	return t
}

// in is the table in another database: a past state's.
func (t *packedTable) in(d *database) gsql.Table { return newPackedTable(d, t.def) }

func (t *packedTable) Name() string                     { return t.def.Name }
func (t *packedTable) String() string                   { return t.def.Name }
func (t *packedTable) Schema(*gsql.Context) gsql.Schema { return t.schema }
func (t *packedTable) Collation() gsql.CollationID      { return gsql.Collation_utf8mb4_0900_bin }

func (t *packedTable) Partitions(*gsql.Context) (gsql.PartitionIter, error) {
	return gsql.PartitionsToPartitionIter(scanPartition{}), nil
}

func (t *packedTable) PartitionRows(ctx *gsql.Context, _ gsql.Partition) (gsql.RowIter, error) {
	it, err := snapshotOf(ctx, t.db.src).Scan(t.def.Stored.Primary(), nil)
	if err != nil {
		return nil, err
	}
	return &unpackIter{it: it, unpack: t.def.Unpack}, nil
}

// unpackIter unpacks the stored rows one after another.
type unpackIter struct {
	it      *memdb.Iterator
	unpack  func(memdb.Row) ([]memdb.Row, error)
	pending []memdb.Row
}

func (u *unpackIter) Next(*gsql.Context) (gsql.Row, error) {
	for len(u.pending) == 0 {
		row := u.it.NextRow()
		if row == nil {
			return nil, io.EOF
		}
		rows, err := u.unpack(row)
		if err != nil {
			return nil, err
		}
		u.pending = rows
	}
	row := u.pending[0]
	u.pending = u.pending[1:]
	return gsql.Row(row), nil
}

func (u *unpackIter) Close(*gsql.Context) error { return nil }
