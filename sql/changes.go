package sql

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// imago.changes: the rows each command of a range changed, with the row
// before and after as JSON, computed by replaying the range from the state
// before it (PastViews.Changes). The range comes from WHERE, on seq or on
// time (resolved to seqs through the log: times never decrease with seq);
// a statement without one, or with one wider than MaxChangesCommands, is
// refused naming the limit: the replay is the query's cost.

// DefaultMaxChangesCommands bounds the commands one statement's
// imago.changes replays (Config.MaxChangesCommands): about 3 s of CPU at
// the ~16k commands/s BenchmarkChanges measures on the shop's mixed
// workload (62 µs a command: the replay, its row changes, their rows).
const DefaultMaxChangesCommands = 50_000

// Columns of imago.changes, in order.
const (
	chSeq = iota
	chCommand
	chActor
	chTime
	chTable
	chKind
	chPK
	chBefore
	chAfter
)

// changesTable is imago.changes.
type changesTable struct {
	src     Source
	log     CommandLog
	past    PastViews
	max     int64
	schema  gsql.Schema
	indexes []gsql.Index
}

var _ gsql.IndexAddressable = (*changesTable)(nil)

func newChangesTable(src Source, log CommandLog, past PastViews, maxCommands int) *changesTable {
	if maxCommands == 0 {
		maxCommands = DefaultMaxChangesCommands
	}
	t := &changesTable{src: src, log: log, past: past, max: int64(maxCommands)}
	col := func(name string, typ gsql.Type, nullable bool) *gsql.Column {
		return &gsql.Column{Name: name, Type: typ, Nullable: nullable, Source: "changes", DatabaseSource: SystemDatabase}
	}
	t.schema = gsql.Schema{
		col("seq", types.Uint64, false),
		col("command", varchar(255), false),
		col("actor", varchar(255), false),
		col("time", types.DatetimeMaxPrecision, false),
		col("table_name", varchar(64), false),
		// kind: insert, update or delete; BEFORE is reserved in MySQL,
		// hence before_row and after_row.
		col("kind", varchar(6), false),
		col("pk", types.JSON, false),
		col("before_row", types.JSON, true),
		col("after_row", types.JSON, true),
	}
	t.indexes = []gsql.Index{
		newIndexInfo(SystemDatabase, "changes", "seq", false, t.schema, chSeq),
		newIndexInfo(SystemDatabase, "changes", "time", false, t.schema, chTime),
	}
	return t
}

func (t *changesTable) Name() string                                   { return "changes" }
func (t *changesTable) String() string                                 { return "changes" }
func (t *changesTable) Schema(*gsql.Context) gsql.Schema               { return t.schema }
func (t *changesTable) Collation() gsql.CollationID                    { return gsql.Collation_utf8mb4_0900_bin }
func (t *changesTable) PreciseMatch() bool                             { return true }
func (t *changesTable) GetIndexes(*gsql.Context) ([]gsql.Index, error) { return t.indexes, nil }

func (t *changesTable) IndexedAccess(*gsql.Context, gsql.IndexLookup) gsql.IndexedTable {
	return &indexedChanges{t}
}

// Partitions is a read without a range of seq or time: refused.
func (t *changesTable) Partitions(*gsql.Context) (gsql.PartitionIter, error) {
	return nil, fmt.Errorf("imago.changes needs a range of seq or time in WHERE (of at most %d commands: they are replayed to compute it), e.g. WHERE seq BETWEEN 1000 AND 2000, or WHERE time >= '2026-11-20 10:00:00' AND time < '2026-11-20 11:00:00'", t.max)
}

func (t *changesTable) PartitionRows(ctx *gsql.Context, p gsql.Partition) (gsql.RowIter, error) {
	r := p.(*logRange)
	rows := make(chan gsql.Row, 256)
	cctx, cancel := context.WithCancel(ctx)
	it := &changeRows{rows: rows, cancel: cancel, done: make(chan struct{})}
	if r.from > r.to {
		close(rows)
		close(it.done)
		return it, nil
	}
	go func() {
		defer close(it.done)
		defer close(rows)
		it.err = t.past.Changes(cctx, r.from, r.to, func(env envelope.Envelope, changes []memdb.Change) error {
			if r.rce != nil {
				v := any(env.Seq)
				if r.col == chTime {
					v = env.Time
				}
				if ok, err := inRange(ctx, *r.rce, v); err != nil || !ok {
					return err
				}
			}
			for _, c := range changes {
				row, err := changeRow(ctx, env, c)
				if err != nil {
					return fmt.Errorf("imago.changes seq %d: %w", env.Seq, err)
				}
				select {
				case rows <- row:
				case <-cctx.Done():
					return cctx.Err()
				}
			}
			return nil
		})
	}()
	return it, nil
}

// changeRow is the row of imago.changes for change c of the command env.
func changeRow(ctx *gsql.Context, env envelope.Envelope, c memdb.Change) (gsql.Row, error) {
	row := gsql.Row{env.Seq, env.Name, env.Actor, env.Time, c.Table.Name(), changeKind(c), nil, nil, nil}
	return row, renderChange(ctx, c, row, chPK, chBefore, chAfter)
}

// changeKind is insert, update or delete.
func changeKind(c memdb.Change) string {
	switch {
	case c.Before == nil:
		return "insert"
	case c.After == nil:
		return "delete"
	}
	return "update"
}

// renderChange sets row's columns pk, before and after to c's primary key
// and rows as JSON (NULL for a row that is not there).
func renderChange(ctx *gsql.Context, c memdb.Change, row gsql.Row, pk, before, after int) error {
	var err error
	if row[pk], err = jsonValue(ctx, c.Key()); err != nil {
		return err
	}
	if c.Before != nil {
		if row[before], err = jsonValue(ctx, c.Table.Object(c.Before)); err != nil {
			return err
		}
	}
	if c.After != nil {
		if row[after], err = jsonValue(ctx, c.Table.Object(c.After)); err != nil {
			return err
		}
	}
	return nil
}

// jsonValue is v as a JSON column value, rendered as the HTTP API renders
// rows (decimals as strings, times in RFC 3339).
func jsonValue(ctx *gsql.Context, v any) (any, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	doc, _, err := types.JSON.Convert(ctx, js)
	return doc, err
}

// changeRows streams the rows the replay produces.
type changeRows struct {
	rows   chan gsql.Row
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done closes
}

func (r *changeRows) Next(ctx *gsql.Context) (gsql.Row, error) {
	select {
	case row, ok := <-r.rows:
		if ok {
			return row, nil
		}
		<-r.done
		if r.err != nil {
			return nil, r.err
		}
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *changeRows) Close(*gsql.Context) error {
	r.cancel()
	for range r.rows { // let the replay see the cancel and end
	}
	<-r.done
	return nil
}

type indexedChanges struct{ *changesTable }

func (t *indexedChanges) LookupPartitions(ctx *gsql.Context, lookup gsql.IndexLookup) (gsql.PartitionIter, error) {
	ranges, ok := lookup.Ranges.(gsql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("sql: unsupported range collection %T", lookup.Ranges)
	}
	col := chSeq
	if lookup.Index.ID() == "time" {
		col = chTime
	}
	last := viewOf(ctx, t.src).Seq
	parts := make([]gsql.Partition, 0, len(ranges))
	var total int64
	for _, r := range ranges {
		rce := r[0]
		p := &logRange{col: col, rce: &rce}
		var err error
		if col == chSeq {
			p.from, p.to = seqBounds(ctx, rce)
		} else if p.from, p.to, err = timeBounds(ctx, t.log, rce, last); err != nil {
			return nil, err
		}
		p.from, p.to = max(p.from, t.log.FirstSeq(), 1), min(p.to, last)
		if p.from <= p.to {
			total += int64(p.to - p.from + 1)
		}
		if total > t.max {
			return nil, fmt.Errorf("imago.changes over seq %d..%d: %d commands, more than the %d one statement may replay (MaxChangesCommands): narrow the range of seq or time", p.from, p.to, p.to-p.from+1, t.max)
		}
		parts = append(parts, p)
	}
	return gsql.PartitionsToPartitionIter(parts...), nil
}

// timeBounds are the seqs of the entries a range on time can match: the
// log's times never decrease with seq, so each bound is a binary search
// (envelope.Log.LastAt) among the seqs up to last. Rows are checked
// against the range exactly anyway.
func timeBounds(ctx *gsql.Context, log CommandLog, rce gsql.MySQLRangeColumnExpr, last uint64) (from, to uint64, err error) {
	from, to = 1, last
	at := func(key any, before bool) (uint64, error) {
		v, _, err := types.DatetimeMaxPrecision.Convert(ctx, key)
		tm, ok := v.(time.Time)
		if err != nil || !ok {
			return 0, fmt.Errorf("a time bound %v: %w", key, err)
		}
		if before { // the last entry before tm, not at it
			tm = tm.Add(-time.Nanosecond)
		}
		return log.LastAt(tm, last)
	}
	switch lb := rce.LowerBound.(type) {
	case gsql.AboveAll:
		return 1, 0, nil
	case gsql.Below: // time >= key
		s, err := at(lb.Key, true)
		if err != nil {
			return 0, 0, err
		}
		from = s + 1
	case gsql.Above: // time > key
		s, err := at(lb.Key, false)
		if err != nil {
			return 0, 0, err
		}
		from = s + 1
	}
	switch ub := rce.UpperBound.(type) {
	case gsql.BelowNull, gsql.AboveNull: // only NULLs: time is never NULL
		return 1, 0, nil
	case gsql.Below: // time < key
		if to, err = at(ub.Key, true); err != nil {
			return 0, 0, err
		}
	case gsql.Above: // time <= key
		if to, err = at(ub.Key, false); err != nil {
			return 0, 0, err
		}
	}
	return from, to, nil
}
