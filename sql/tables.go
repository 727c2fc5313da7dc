// Package sql serves the published image read-only over the MySQL protocol,
// with go-mysql-server (GMS) as the SQL engine.
//
// Guarantees:
//   - Each statement (or explicit transaction) reads one published snapshot,
//     pinned when it starts: consistent reads, no locks, the writer never waits.
//   - Primary and secondary indexes are GMS indexes: equality and range
//     predicates become bounded index scans.
//   - Clients cannot change anything: writes, DDL, SET GLOBAL, ANALYZE,
//     LOAD DATA, LOAD_FILE and SELECT ... INTO OUTFILE/DUMPFILE are refused with
//     an error that names the HTTP write API.
//   - Connections that do not log in cannot lock accounts out: they are
//     closed after ConnectTimeout, bounded apart (MaxHandshakes), and only
//     logged-in connections count against MaxConnections.
//   - Accounts that are not admins hold no PROCESS privilege: the process
//     list shows them their own sessions only.
//   - Ssl_cipher and Ssl_version report what a TLS connection negotiated.
//   - Failed logins are logged with user and remote address; a host that
//     fails LoginFailures times is refused (1129) for LoginBlock.
//   - A statement's planning cost is bounded before GMS plans it (GMS's
//     planner ignores the query timeout): statement bytes, IN-list items,
//     expression depth and nodes are limited, with errors naming the limit.
//   - No function builds a string over max_allowed_packet (MaxAllowedPacket):
//     REPEAT, LPAD, CONCAT and the like answer NULL with warning 1301, as in
//     MySQL, before allocating.
//   - Replies are well formed for libmysqlclient-based clients: SQL-level
//     PREPARE/EXECUTE/DEALLOCATE PREPARE work from the mysql command line.
package sql

import (
	"fmt"
	"io"
	"strings"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// Source is what the SQL layer reads: the published image.
type Source interface {
	View() *commands.View
}

// sqlTypes are the GMS types of the column kinds (memdb/kinds.go): each GMS
// type's Go value is the one memdb stores for the kind, so rows pass
// through unconverted. TestEveryKindHasASQLType names a kind without one.
var sqlTypes = map[memdb.Kind]func(t memdb.Type) gsql.Type{
	memdb.KindBigInt:         func(memdb.Type) gsql.Type { return types.Int64 },
	memdb.KindBigIntUnsigned: func(memdb.Type) gsql.Type { return types.Uint64 },
	memdb.KindInt:            func(memdb.Type) gsql.Type { return types.Int32 },
	memdb.KindDouble:         func(memdb.Type) gsql.Type { return types.Float64 },
	memdb.KindDecimal: func(t memdb.Type) gsql.Type {
		return types.MustCreateDecimalType(uint8(t.Precision), uint8(t.Scale))
	},
	memdb.KindVarchar: func(t memdb.Type) gsql.Type {
		return types.MustCreateString(sqltypes.VarChar, int64(t.Length), gsql.Collation_utf8mb4_0900_bin)
	},
	memdb.KindChar: func(t memdb.Type) gsql.Type {
		return types.MustCreateString(sqltypes.Char, int64(t.Length), gsql.Collation_utf8mb4_0900_bin)
	},
	memdb.KindText: func(memdb.Type) gsql.Type {
		return types.MustCreateString(sqltypes.Text, types.TextBlobMax, gsql.Collation_utf8mb4_0900_bin)
	},
	memdb.KindVarbinary: func(t memdb.Type) gsql.Type { return types.MustCreateBinary(sqltypes.VarBinary, int64(t.Length)) },
	memdb.KindBlob:      func(memdb.Type) gsql.Type { return types.Blob },
	memdb.KindBoolean:   func(memdb.Type) gsql.Type { return types.Boolean },
	memdb.KindDatetime:  func(memdb.Type) gsql.Type { return types.DatetimeMaxPrecision },
	memdb.KindJSON:      func(memdb.Type) gsql.Type { return types.JSON },
}

// sqlType is the GMS type of a column type.
func sqlType(t memdb.Type) gsql.Type { return sqlTypes[t.Kind](t) }

// database is a schema: the app's (one table per memdb table) or Imago's own.
type database struct {
	noObjects
	name   string
	src    Source
	tables map[string]gsql.Table // by lower-case name
	names  []string
}

var _ gsql.Database = (*database)(nil)

func newEmptyDatabase(name string, src Source) *database {
	return &database{name: name, src: src, tables: map[string]gsql.Table{}}
}

func newDatabase(name string, src Source, tables []*memdb.Table) *database {
	db := newEmptyDatabase(name, src)
	for _, t := range tables {
		db.add(newTable(db, t))
	}
	return db
}

func (d *database) add(t gsql.Table) {
	d.tables[strings.ToLower(t.Name())] = t
	d.names = append(d.names, t.Name())
}

func (d *database) Name() string { return d.name }

func (d *database) GetTableInsensitive(_ *gsql.Context, name string) (gsql.Table, bool, error) {
	t, ok := d.tables[strings.ToLower(name)]
	return t, ok, nil
}

func (d *database) GetTableNames(*gsql.Context) ([]string, error) { return d.names, nil }

// IsReadOnly tells GMS that nothing in this database can be written.
func (d *database) IsReadOnly() bool { return true }

// table is a memdb table seen through GMS. It holds no snapshot: every read
// takes the one pinned by the statement's transaction (see session.go).
type table struct {
	db      *database
	t       *memdb.Table
	schema  gsql.Schema
	pk      gsql.PrimaryKeySchema
	indexes []gsql.Index
	hasJSON bool
}

var (
	_ gsql.Table            = (*table)(nil)
	_ gsql.IndexAddressable = (*table)(nil)
	_ gsql.StatisticsTable  = (*table)(nil)
	_ gsql.PrimaryKeyTable  = (*table)(nil)
)

func newTable(db *database, t *memdb.Table) *table {
	tb := &table{db: db, t: t}
	pkOrdinals := t.Primary().Columns()
	isPK := map[int]bool{}
	for _, p := range pkOrdinals {
		isPK[p] = true
	}
	for i, c := range t.Columns() {
		tb.schema = append(tb.schema, &gsql.Column{
			Name: c.Name, Type: sqlType(c.Type), Nullable: c.Nullable,
			Source: t.Name(), DatabaseSource: db.name, PrimaryKey: isPK[i],
		})
		tb.hasJSON = tb.hasJSON || c.Type.Kind == memdb.KindJSON
	}
	tb.pk = gsql.NewPrimaryKeySchema(tb.schema, pkOrdinals...)
	tb.indexes = append(tb.indexes, newIndex(tb, t.Primary()))
	for _, ix := range t.Indexes() {
		tb.indexes = append(tb.indexes, newIndex(tb, ix))
	}
	return tb
}

// in is the table in another database: a past state's.
func (t *table) in(d *database) gsql.Table { return newTable(d, t.t) }

func (t *table) Name() string                                         { return t.t.Name() }
func (t *table) String() string                                       { return t.t.Name() }
func (t *table) Schema(*gsql.Context) gsql.Schema                     { return t.schema }
func (t *table) PrimaryKeySchema(*gsql.Context) gsql.PrimaryKeySchema { return t.pk }
func (t *table) Collation() gsql.CollationID                          { return gsql.Collation_utf8mb4_0900_bin }

// Partitions: the whole table is one partition; GMS reads partitions one
// after another anyway.
func (t *table) Partitions(*gsql.Context) (gsql.PartitionIter, error) {
	return gsql.PartitionsToPartitionIter(scanPartition{}), nil
}

func (t *table) PartitionRows(ctx *gsql.Context, p gsql.Partition) (gsql.RowIter, error) {
	if err := ctx.Err(); err != nil { // a join opens the inner table per outer row
		return nil, err
	}
	snap := snapshotOf(ctx, t.db.src)
	if rp, ok := p.(*rangePartition); ok {
		return rp.rows(ctx, snap)
	}
	it, err := snap.Scan(t.t.Primary(), nil)
	if err != nil {
		return nil, err
	}
	return &rowIter{table: t, it: it}, nil
}

// RowCount is O(1): GMS calls it several times per indexed query.
func (t *table) RowCount(ctx *gsql.Context) (uint64, bool, error) {
	return uint64(snapshotOf(ctx, t.db.src).Count(t.t)), true, nil
}

// DataLength is an estimate: GMS and tools only use it for display.
func (t *table) DataLength(ctx *gsql.Context) (uint64, error) {
	n, _, err := t.RowCount(ctx)
	return n * uint64(16*len(t.schema)), err
}

func (t *table) GetIndexes(*gsql.Context) ([]gsql.Index, error) { return t.indexes, nil }

func (t *table) IndexedAccess(_ *gsql.Context, lookup gsql.IndexLookup) gsql.IndexedTable {
	return &indexedTable{table: t}
}

// PreciseMatch: index scans apply every range condition exactly (rangeScan.match),
// so GMS need not filter their rows again.
func (t *table) PreciseMatch() bool { return true }

type scanPartition struct{}

func (scanPartition) Key() []byte { return []byte("all") }

// indexedTable is a table read through an index lookup.
type indexedTable struct{ *table }

func (t *indexedTable) LookupPartitions(ctx *gsql.Context, lookup gsql.IndexLookup) (gsql.PartitionIter, error) {
	ix, ok := lookup.Index.(*index)
	if !ok {
		return nil, fmt.Errorf("sql: lookup on foreign index %T", lookup.Index)
	}
	ranges, ok := lookup.Ranges.(gsql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("sql: unsupported range collection %T", lookup.Ranges)
	}
	parts := make([]gsql.Partition, 0, len(ranges))
	for _, r := range ranges {
		parts = append(parts, &rangePartition{ix: ix, rng: r})
	}
	return gsql.PartitionsToPartitionIter(parts...), nil
}

// rowIter hands stored rows to GMS as they are: rows are immutable and GMS
// builds new rows for anything it computes.
type rowIter struct {
	table *table
	it    *memdb.Iterator
	scan  *rangeScan // nil for a full scan
	read  uint       // rows read, for the context check
}

// ctxCheckEvery is how many rows a scan reads between checks of its
// statement's context: go-mysql-server's join and aggregation loops check
// none, so a statement past --mysql-query-timeout or KILL QUERY stops
// where it next reads a table.
const ctxCheckEvery = 1024

func (r *rowIter) Next(ctx *gsql.Context) (gsql.Row, error) {
	if r.read++; r.read%ctxCheckEvery == 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	for {
		var row memdb.Row
		var key []byte
		if r.scan == nil {
			row = r.it.NextRow()
		} else {
			row, key = r.it.Next()
		}
		if row == nil {
			return nil, io.EOF
		}
		if r.scan != nil {
			if r.scan.past(key) {
				return nil, io.EOF
			}
			ok, err := r.scan.match(ctx, row)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		if r.table.hasJSON {
			return r.table.withJSON(ctx, row)
		}
		return gsql.Row(row), nil
	}
}

func (r *rowIter) Close(*gsql.Context) error { return nil }

// withJSON converts JSON columns, stored as text, to GMS JSON documents.
func (t *table) withJSON(ctx *gsql.Context, row memdb.Row) (gsql.Row, error) {
	out := make(gsql.Row, len(row))
	copy(out, row)
	for i, c := range t.t.Columns() {
		if c.Type.Kind != memdb.KindJSON || out[i] == nil {
			continue
		}
		v, _, err := types.JSON.Convert(ctx, out[i])
		if err != nil {
			return nil, fmt.Errorf("sql: %s.%s: %w", t.t.Name(), c.Name, err)
		}
		out[i] = v
	}
	return out, nil
}
