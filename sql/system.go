package sql

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/imagodb/imago/envelope"
)

// SystemDatabase is the schema Imago serves beside the app's: the command log
// as a table and the server's status.
const SystemDatabase = "imago"

// CommandLog is the log imago.commands reads: envelopes by seq
// (envelope.Log is one).
type CommandLog interface {
	Iter(from, to uint64) *envelope.Iterator
	// FirstSeq is where the log begins: 1, unless it was truncated.
	FirstSeq() uint64
	// LastAt is the last seq up to to whose entry was accepted at or
	// before t (FirstSeq()-1: none); times never decrease with seq.
	LastAt(t time.Time, to uint64) (uint64, error)
}

// StatusRow is one row of imago.status.
type StatusRow struct{ Name, Value string }

func newSystemDatabase(cfg Config) *database {
	db := newEmptyDatabase(SystemDatabase, cfg.Source)
	if cfg.Log != nil {
		db.add(newCommandsTable(cfg.Source, cfg.Log, cfg.Audit))
		if cfg.Past != nil {
			db.add(newChangesTable(cfg.Source, cfg.Log, cfg.Past, cfg.MaxChangesCommands))
		}
	}
	db.add(&statusTable{src: cfg.Source, rows: cfg.Status})
	db.add(&reactorsTable{status: cfg.Reactors})
	db.add(&replicasTable{status: cfg.Replicas})
	db.add(&redactionsTable{rows: cfg.Redactions})
	for _, t := range cfg.SystemTables {
		db.add(newPackedTable(db, t))
	}
	return db
}

func varchar(n int64) gsql.Type {
	return types.MustCreateString(sqltypes.VarChar, n, gsql.Collation_utf8mb4_0900_bin)
}

// Columns of imago.commands, in order.
const (
	cmdSeq = iota
	cmdID
	cmdName
	cmdVersion
	cmdTime
	cmdActor
	cmdCause
	cmdPayload
	cmdUpcast
	cmdImportedBy
	cmdFields // the declared payload fields, one column each
)

// commandsTable is the command log as a table. Rows are read from the log
// for each query, never copied into memory, and only up to the seq of the
// statement's snapshot, so that the log and the image agree within a query.
// Its indexes push conditions down: a range on seq bounds the log
// iterator, a range on time too (resolved to seqs: times never decrease
// with seq), a value of actor or of a declared payload field (a column
// each, after upcast) reads only the entries the audit index names, and a
// condition on name is checked before the payload is decoded (the log has
// no index by name: that scan is still a full one).
type commandsTable struct {
	src     Source
	log     CommandLog
	audit   AuditIndex // nil: no audit index
	fields  []string   // the declared payload fields' columns, from cmdFields on
	schema  gsql.Schema
	indexes []gsql.Index
}

// AuditIndex finds log entries by actor and by the payload fields the app
// declares (the root's DB).
type AuditIndex interface {
	// AuditFields are the payload fields indexed (besides "actor").
	AuditFields() []string
	// AuditFieldsOf are the fields indexed for a command.
	AuditFieldsOf(command string) []string
	// AuditLookup calls fn with the seqs from..to of the entries whose
	// actor (name "actor") or field name has value, in order.
	AuditLookup(name, value string, from, to uint64, fn func(seq uint64) error) error
}

var (
	_ gsql.IndexAddressable = (*commandsTable)(nil)
	_ gsql.StatisticsTable  = (*commandsTable)(nil)
)

func newCommandsTable(src Source, log CommandLog, audit AuditIndex) *commandsTable {
	t := &commandsTable{src: src, log: log, audit: audit}
	col := func(name string, typ gsql.Type, nullable bool) *gsql.Column {
		return &gsql.Column{Name: name, Type: typ, Nullable: nullable, Source: "commands", DatabaseSource: SystemDatabase}
	}
	t.schema = gsql.Schema{
		col("seq", types.Uint64, false),
		col("id", varchar(255), false),
		col("name", varchar(255), false),
		col("version", types.Uint32, false),
		col("time", types.DatetimeMaxPrecision, false),
		col("actor", varchar(255), false),
		col("cause", varchar(255), true),
		col("payload", types.JSON, false),
		// upcast: what the app's upcasters make of an old entry (NULL:
		// nothing); the columns before it are the entry as stored.
		col("upcast", types.JSON, true),
		// imported_by: who imported the command from another system's
		// history (NULL: accepted here, live).
		col("imported_by", varchar(255), true),
	}
	t.schema[cmdSeq].PrimaryKey = true
	t.indexes = []gsql.Index{
		newIndexInfo(SystemDatabase, "commands", "PRIMARY", true, t.schema, cmdSeq),
		newIndexInfo(SystemDatabase, "commands", "name", false, t.schema, cmdName),
		newIndexInfo(SystemDatabase, "commands", "time", false, t.schema, cmdTime),
	}
	if audit != nil {
		t.indexes = append(t.indexes, newIndexInfo(SystemDatabase, "commands", "actor", false, t.schema, cmdActor))
		for _, f := range audit.AuditFields() {
			if t.schema.IndexOfColName(f) >= 0 {
				continue // named as a column of the log: not shown (still in payload)
			}
			t.fields = append(t.fields, f)
			t.schema = append(t.schema, col(f, varchar(255), true))
		}
		for i := range t.fields {
			t.indexes = append(t.indexes, newIndexInfo(SystemDatabase, "commands", t.fields[i], false, t.schema, cmdFields+i))
		}
	}
	return t
}

func (t *commandsTable) Name() string                                   { return "commands" }
func (t *commandsTable) String() string                                 { return "commands" }
func (t *commandsTable) Schema(*gsql.Context) gsql.Schema               { return t.schema }
func (t *commandsTable) Collation() gsql.CollationID                    { return gsql.Collation_utf8mb4_0900_bin }
func (t *commandsTable) PreciseMatch() bool                             { return true }
func (t *commandsTable) GetIndexes(*gsql.Context) ([]gsql.Index, error) { return t.indexes, nil }

func (t *commandsTable) IndexedAccess(*gsql.Context, gsql.IndexLookup) gsql.IndexedTable {
	return &indexedCommands{t}
}

// RowCount: every seq from the log's first up to the snapshot's is in it.
func (t *commandsTable) RowCount(ctx *gsql.Context) (uint64, bool, error) {
	seq := viewOf(ctx, t.src).Seq
	return seq - min(seq, t.log.FirstSeq()-1), true, nil
}

func (t *commandsTable) DataLength(ctx *gsql.Context) (uint64, error) {
	n, _, err := t.RowCount(ctx)
	return n * 200, err
}

func (t *commandsTable) Partitions(*gsql.Context) (gsql.PartitionIter, error) {
	return gsql.PartitionsToPartitionIter(&logRange{from: 1, to: math.MaxUint64}), nil
}

func (t *commandsTable) PartitionRows(ctx *gsql.Context, p gsql.Partition) (gsql.RowIter, error) {
	r := p.(*logRange)
	// A truncated log begins after seq 1: the rows before it are gone, so
	// a range starting earlier starts at the log's first seq.
	to := min(r.to, viewOf(ctx, t.src).Seq)
	from := max(r.from, t.log.FirstSeq())
	if r.lookup != "" {
		return t.lookupRows(ctx, r, from, to), nil
	}
	return &commandRows{t: t, it: t.log.Iter(from, to), rng: r}, nil
}

// lookupRows are the rows of the entries from..to the audit index names
// for r's value: the index's lookup runs beside the reader, which reads
// each entry it sends.
func (t *commandsTable) lookupRows(ctx *gsql.Context, r *logRange, from, to uint64) gsql.RowIter {
	seqs := make(chan uint64, 1024)
	cctx, cancel := context.WithCancel(ctx)
	l := &lookupRows{t: t, rng: r, seqs: seqs, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		defer close(seqs)
		l.err = t.audit.AuditLookup(r.lookup, r.value, from, to, func(seq uint64) error {
			select {
			case seqs <- seq:
				return nil
			case <-cctx.Done():
				return cctx.Err()
			}
		})
	}()
	return l
}

// lookupRows reads the entries an audit lookup names.
type lookupRows struct {
	t      *commandsTable
	rng    *logRange
	seqs   chan uint64
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done closes
}

func (l *lookupRows) Next(ctx *gsql.Context) (gsql.Row, error) {
	for {
		var seq uint64
		var ok bool
		select {
		case seq, ok = <-l.seqs:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !ok {
			<-l.done
			if l.err != nil {
				return nil, l.err
			}
			return nil, io.EOF
		}
		it := l.t.log.Iter(seq, seq)
		env, found := it.Next()
		err := it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
		if !found {
			continue // retired by the upcasters
		}
		row, keep, err := l.t.row(ctx, env, l.rng)
		if err != nil || keep {
			return row, err
		}
	}
}

func (l *lookupRows) Close(*gsql.Context) error {
	l.cancel()
	for range l.seqs {
	}
	<-l.done
	return nil
}

type indexedCommands struct{ *commandsTable }

func (t *indexedCommands) LookupPartitions(ctx *gsql.Context, lookup gsql.IndexLookup) (gsql.PartitionIter, error) {
	ranges, ok := lookup.Ranges.(gsql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("sql: unsupported range collection %T", lookup.Ranges)
	}
	col := t.schema.IndexOfColName(lookup.Index.ID())
	if lookup.Index.ID() == "PRIMARY" {
		col = cmdSeq
	}
	parts := make([]gsql.Partition, 0, len(ranges))
	for _, r := range ranges {
		rce := r[0]
		p := &logRange{from: 1, to: math.MaxUint64, col: col, rce: &rce}
		switch {
		case col == cmdSeq:
			p.from, p.to = seqBounds(ctx, rce)
		case col == cmdTime:
			var err error
			if p.from, p.to, err = timeBounds(ctx, t.log, rce, viewOf(ctx, t.src).Seq); err != nil {
				return nil, err
			}
		case col == cmdActor || col >= cmdFields:
			// A value: the audit index names its entries; a range of
			// values is checked on every entry.
			if v, ok := pointValue(ctx, rce); ok {
				p.lookup, p.value = t.schema[col].Name, v
			}
		}
		parts = append(parts, p)
	}
	return gsql.PartitionsToPartitionIter(parts...), nil
}

// pointValue is the one text value a range holds (col = 'x'), if it is one.
func pointValue(ctx *gsql.Context, rce gsql.MySQLRangeColumnExpr) (string, bool) {
	lo, ok1 := rce.LowerBound.(gsql.Below)
	hi, ok2 := rce.UpperBound.(gsql.Above)
	if !ok1 || !ok2 {
		return "", false
	}
	a, _, err1 := varchar(255).Convert(ctx, lo.Key)
	b, _, err2 := varchar(255).Convert(ctx, hi.Key)
	s, ok := a.(string)
	return s, ok && err1 == nil && err2 == nil && a == b
}

// logRange is a partition of imago.commands: the seqs from..to, and the
// condition rce on column col that each row must meet (nil: none).
type logRange struct {
	from, to uint64
	col      int
	rce      *gsql.MySQLRangeColumnExpr
	// lookup, when set, is the audit index's name (actor, a field) whose
	// value the rows hold: only the entries it names are read.
	lookup, value string
}

func (r *logRange) Key() []byte { return []byte(fmt.Sprintf("%d-%d", r.from, r.to)) }

// seqBounds are the seqs a range on seq can match, wide where a bound is not
// a whole number: rows are checked against the range exactly anyway.
func seqBounds(ctx *gsql.Context, rce gsql.MySQLRangeColumnExpr) (from, to uint64) {
	switch rce.LowerBound.(type) {
	case gsql.AboveAll:
		return 1, 0
	}
	switch rce.UpperBound.(type) {
	case gsql.BelowNull, gsql.AboveNull: // only NULLs, and seq is never NULL
		return 1, 0
	}
	from, to = 1, math.MaxUint64
	if gsql.MySQLRangeCutIsBinding(rce.LowerBound) {
		if f, ok := asFloat(ctx, gsql.GetMySQLRangeCutKey(rce.LowerBound)); ok && f > 1 {
			from = uint64(min(math.Floor(f), 1<<63))
		}
	}
	if gsql.MySQLRangeCutIsBinding(rce.UpperBound) {
		if f, ok := asFloat(ctx, gsql.GetMySQLRangeCutKey(rce.UpperBound)); ok && f < 1<<63 {
			to = uint64(max(math.Ceil(f), 0))
		}
	}
	return from, to
}

func asFloat(ctx *gsql.Context, v any) (float64, bool) {
	f, _, err := types.Float64.Convert(ctx, v)
	x, ok := f.(float64)
	return x, err == nil && ok && !math.IsNaN(x)
}

// commandRows decodes log entries into rows of imago.commands.
type commandRows struct {
	t   *commandsTable
	it  *envelope.Iterator
	rng *logRange
	n   int
}

func (r *commandRows) Next(ctx *gsql.Context) (gsql.Row, error) {
	for {
		if r.n++; r.n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		env, ok := r.it.Next()
		if !ok {
			if err := r.it.Err(); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		row, keep, err := r.t.row(ctx, env, r.rng)
		if err != nil || keep {
			return row, err
		}
	}
}

// row is the row of the entry env, and whether it meets rng's condition.
func (t *commandsTable) row(ctx *gsql.Context, env envelope.Envelope, rng *logRange) (gsql.Row, bool, error) {
	upcast := env
	if env.Stored != nil {
		env = *env.Stored
	}
	row := make(gsql.Row, len(t.schema))
	row[cmdSeq], row[cmdID], row[cmdName], row[cmdVersion], row[cmdTime], row[cmdActor] = env.Seq, env.ID, env.Name, env.Version, env.Time, env.Actor
	if env.Cause != "" {
		row[cmdCause] = env.Cause
	}
	if env.ImportedBy != "" {
		row[cmdImportedBy] = env.ImportedBy
	}
	if len(t.fields) > 0 {
		if err := t.fieldValues(upcast, row); err != nil {
			return nil, false, fmt.Errorf("sql: imago.commands seq %d: %w", env.Seq, err)
		}
	}
	if rng.rce != nil {
		if ok, err := inRange(ctx, *rng.rce, row[rng.col]); err != nil || !ok {
			return nil, false, err
		}
	}
	// The payload is decoded last: rows the conditions reject never pay for it.
	js, err := envelope.PayloadJSON(env.Payload)
	if err != nil {
		return nil, false, fmt.Errorf("sql: imago.commands seq %d: %w", env.Seq, err)
	}
	if row[cmdPayload], _, err = types.JSON.Convert(ctx, js); err != nil {
		return nil, false, fmt.Errorf("sql: imago.commands seq %d: %w", env.Seq, err)
	}
	if js, err = upcast.UpcastJSON(); err != nil {
		return nil, false, fmt.Errorf("sql: imago.commands seq %d: %w", env.Seq, err)
	}
	if js != nil {
		if row[cmdUpcast], _, err = types.JSON.Convert(ctx, js); err != nil {
			return nil, false, fmt.Errorf("sql: imago.commands seq %d: %w", env.Seq, err)
		}
	}
	return row, true, nil
}

// fieldValues sets the declared payload fields' columns of the command
// env (upcast: as the audit index reads it).
func (t *commandsTable) fieldValues(env envelope.Envelope, row gsql.Row) error {
	names := t.audit.AuditFieldsOf(env.Name)
	if len(names) == 0 {
		return nil
	}
	values, err := envelope.PayloadFields(env.Payload, names)
	if err != nil {
		return err
	}
	for i, n := range names {
		if c := slices.Index(t.fields, n); c >= 0 && values[i] != "" {
			row[cmdFields+c] = values[i]
		}
	}
	return nil
}

func (r *commandRows) Close(*gsql.Context) error { return r.it.Close() }

// statusTable is imago.status: name/value rows about the running server.
// last_seq is the statement's snapshot's; the rest come from Config.Status.
type statusTable struct {
	src  Source
	rows func() []StatusRow
}

var statusSchema = gsql.Schema{
	{Name: "name", Type: varchar(64), Source: "status", DatabaseSource: SystemDatabase, PrimaryKey: true},
	{Name: "value", Type: varchar(1024), Source: "status", DatabaseSource: SystemDatabase},
}

func (t *statusTable) Name() string                     { return "status" }
func (t *statusTable) String() string                   { return "status" }
func (t *statusTable) Schema(*gsql.Context) gsql.Schema { return statusSchema }
func (t *statusTable) Collation() gsql.CollationID      { return gsql.Collation_utf8mb4_0900_bin }

func (t *statusTable) Partitions(*gsql.Context) (gsql.PartitionIter, error) {
	return gsql.PartitionsToPartitionIter(scanPartition{}), nil
}

func (t *statusTable) PartitionRows(ctx *gsql.Context, _ gsql.Partition) (gsql.RowIter, error) {
	rows := []gsql.Row{{"last_seq", strconv.FormatUint(viewOf(ctx, t.src).Seq, 10)}}
	if t.rows != nil {
		for _, r := range t.rows() {
			rows = append(rows, gsql.Row{r.Name, r.Value})
		}
	}
	return gsql.RowsToRowIter(rows...), nil
}

// reactorsTable is imago.reactors: one row per reactor with its progress
// (Config.Reactors), read when the statement runs. The columns are
// cursor_seq and lag_commands because CURSOR and LAG are reserved words.
type reactorsTable struct {
	status func() []ReactorStatus
}

// ReactorStatus is a reactor's progress, a row of imago.reactors.
type ReactorStatus struct {
	Name          string
	Commands      []string
	Cursor        uint64 // the last seq dealt with
	Lag           uint64 // durable commands after Cursor
	Delivered     uint64 // commands handled since start
	Failures      int    // failed attempts at the current command
	LastError     string
	LastErrorTime time.Time
}

var reactorsSchema = func() gsql.Schema {
	col := func(name string, typ gsql.Type, nullable bool) *gsql.Column {
		return &gsql.Column{Name: name, Type: typ, Nullable: nullable, Source: "reactors", DatabaseSource: SystemDatabase}
	}
	s := gsql.Schema{
		col("name", varchar(64), false),
		col("commands", varchar(4096), false),
		col("cursor_seq", types.Uint64, false),
		col("lag_commands", types.Uint64, false),
		col("delivered", types.Uint64, false),
		col("failures", types.Int64, false),
		col("last_error", varchar(4096), true),
		col("last_error_time", types.DatetimeMaxPrecision, true),
	}
	s[0].PrimaryKey = true
	return s
}()

func (t *reactorsTable) Name() string                     { return "reactors" }
func (t *reactorsTable) String() string                   { return "reactors" }
func (t *reactorsTable) Schema(*gsql.Context) gsql.Schema { return reactorsSchema }
func (t *reactorsTable) Collation() gsql.CollationID      { return gsql.Collation_utf8mb4_0900_bin }

func (t *reactorsTable) Partitions(*gsql.Context) (gsql.PartitionIter, error) {
	return gsql.PartitionsToPartitionIter(scanPartition{}), nil
}

func (t *reactorsTable) PartitionRows(*gsql.Context, gsql.Partition) (gsql.RowIter, error) {
	var rows []gsql.Row
	if t.status != nil {
		for _, st := range t.status() {
			row := gsql.Row{st.Name, strings.Join(st.Commands, ","), st.Cursor, st.Lag, st.Delivered, int64(st.Failures), nil, nil}
			if st.LastError != "" {
				row[6], row[7] = st.LastError, st.LastErrorTime
			}
			rows = append(rows, row)
		}
	}
	return gsql.RowsToRowIter(rows...), nil
}
