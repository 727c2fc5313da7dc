package sql

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/server"
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// Time travel: past states of the image, read with SQL.
//
//   - `FROM orders AS OF 1000` reads the state after seq 1000;
//     `AS OF '2026-11-20 10:00:00'` (UTC unless the text names a zone) and
//     `AS OF TIMESTAMP('...')` the state at that time (the last command
//     accepted at or before it). Past and present tables mix in one
//     statement: joins, subqueries, CTEs. `SHOW TABLES AS OF` too.
//   - `shop@1000` and `shop@2026-11-20T10:00:00Z` are databases holding
//     the past state (USE, a connection's database, qualified names):
//     resolved on demand, listed by nothing.
//   - Imago's own image tables (imago.idempotency_keys) travel too; the log
//     (imago.commands) and the process's tables do not.
//   - imago_diff(table, from, to) lists the rows that differ between two
//     points (diff.go); imago.changes what each command of a bounded range
//     changed (changes.go).
//
// GMS hands AS OF to sql.VersionedDatabase: a literal arrives as a string,
// TIMESTAMP(...) and NOW() as a time.Time.

// PastViews builds the states of the past (the root package's DB).
type PastViews interface {
	// ViewAt is the state after the command at seq (0: before the first).
	ViewAt(ctx context.Context, seq uint64) (*commands.View, error)
	// SeqAt is the seq of the last command accepted at or before t.
	SeqAt(t time.Time) (uint64, error)
	// Changes calls fn with each command of from..to that changed rows
	// and the rows it changed, in seq order, replaying the range from the
	// state before it (imago.changes).
	Changes(ctx context.Context, from, to uint64, fn func(env envelope.Envelope, changes []memdb.Change) error) error
}

// RevisionSeparator joins a database's name and a point of its past in the
// name of a past database: shop@1000.
const RevisionSeparator = "@"

// pastSource is the source of a past state's tables: one fixed view,
// whatever the statement's transaction pinned (see viewOf).
type pastSource struct{ view *commands.View }

func (p pastSource) View() *commands.View { return p.view }

// versioned is a database whose past states can be read.
type versioned struct {
	*database           // the present (or, for shop@N, the past state)
	base      *database // the present
	past      *pastStates
}

var (
	_ gsql.VersionedDatabase = (*versioned)(nil)
	_ gsql.ReadOnlyDatabase  = (*versioned)(nil)
)

// pastStates resolves points of the past and keeps the databases built
// over them lately (a statement resolves a table of it several times).
type pastStates struct {
	views PastViews
	mu    sync.Mutex
	dbs   map[pastKey]*database
}

type pastKey struct {
	name string
	view *commands.View
}

// maxPastDatabases bounds the past databases kept (the views themselves
// are cached by PastViews).
const maxPastDatabases = 64

func (v *versioned) GetTableInsensitiveAsOf(ctx *gsql.Context, name string, asOf any) (gsql.Table, bool, error) {
	d, err := v.past.database(ctx, v.base, asOf)
	if err != nil {
		return nil, false, err
	}
	t, ok, err := d.GetTableInsensitive(ctx, name)
	if !ok && err == nil {
		if _, present, _ := v.base.GetTableInsensitive(ctx, name); present {
			return nil, false, fmt.Errorf("%s.%s has no past states: only image tables travel (imago.commands is the log itself: filter it by seq)", v.base.name, name)
		}
	}
	return t, ok, err
}

func (v *versioned) GetTableNamesAsOf(ctx *gsql.Context, asOf any) ([]string, error) {
	d, err := v.past.database(ctx, v.base, asOf)
	if err != nil {
		return nil, err
	}
	return d.GetTableNames(ctx)
}

// database is base's state at the point asOf names.
func (p *pastStates) database(ctx context.Context, base *database, asOf any) (*database, error) {
	view, err := p.view(ctx, asOf)
	if err != nil {
		return nil, err
	}
	return p.at(base, base.name, view), nil
}

// imageTable is a table of the image (the app's or Imago's own), which
// travels: the same table in another database, a past state's.
type imageTable interface{ in(d *database) gsql.Table }

// at is the database named name holding base's image tables in view.
func (p *pastStates) at(base *database, name string, view *commands.View) *database {
	key := pastKey{name, view}
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.dbs[key]; ok {
		return d
	}
	d := newEmptyDatabase(name, pastSource{view})
	for _, n := range base.names {
		if t, ok := base.tables[strings.ToLower(n)].(imageTable); ok {
			d.add(t.in(d))
		}
	}
	if len(p.dbs) >= maxPastDatabases {
		clear(p.dbs)
	}
	p.dbs[key] = d
	return d
}

// view is the state asOf names: a seq (digits), a time as text, a time.
func (p *pastStates) view(ctx context.Context, asOf any) (*commands.View, error) {
	seq, err := p.seq(asOf)
	if err != nil {
		return nil, err
	}
	v, err := p.views.ViewAt(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("AS OF %v: %w", asOf, err)
	}
	return v, nil
}

func (p *pastStates) seq(asOf any) (uint64, error) {
	var t time.Time
	switch a := asOf.(type) {
	case string:
		s := strings.TrimSpace(a)
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, nil
		}
		var err error
		if t, err = parsePointTime(s); err != nil {
			return 0, fmt.Errorf("AS OF %q: want a seq (digits) or a time such as '2026-11-20 10:00:00' (UTC) or '2026-11-20T10:00:00+01:00'", a)
		}
	case time.Time:
		t = a
	case int64:
		return uint64(max(a, 0)), nil
	case uint64:
		return a, nil
	default:
		return 0, fmt.Errorf("AS OF %v (%T): want a seq or a time", asOf, asOf)
	}
	seq, err := p.views.SeqAt(t)
	if err != nil {
		return 0, fmt.Errorf("AS OF %v: %w", asOf, err)
	}
	return seq, nil
}

// pointLayouts are the times a point of the past may be written as; those
// without a zone are UTC.
var pointLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

func parsePointTime(s string) (time.Time, error) {
	for _, l := range pointLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

// revision is the past database a name such as shop@1000 or
// shop@2026-11-20T10:00:00Z names (ok false: not such a name). build false
// only checks the name.
func (p *pastStates) revision(ctx context.Context, dbs map[string]gsql.Database, name string, build bool) (gsql.Database, bool, error) {
	baseName, point, found := strings.Cut(name, RevisionSeparator)
	if !found {
		return nil, false, nil
	}
	v, ok := dbs[strings.ToLower(baseName)].(*versioned)
	if !ok {
		return nil, false, nil
	}
	if !build {
		_, err := p.seq(point)
		return nil, err == nil, err
	}
	view, err := p.view(ctx, point)
	if err != nil {
		return nil, false, err
	}
	return &versioned{database: p.at(v.base, name, view), base: v.base, past: p}, true, nil
}

// installPast makes the provider's databases versioned and lets it resolve
// past databases by name.
func installPast(p *provider, views PastViews) {
	if views == nil {
		return
	}
	installRevisionAuth.Do(func() {
		gsql.SetAuthorizationHandlerFactory(revisionAuthFactory{gsql.GetAuthorizationHandlerFactory()})
	})
	past := &pastStates{views: views, dbs: map[pastKey]*database{}}
	for name, d := range p.dbs {
		if db, ok := d.(*database); ok {
			p.dbs[name] = &versioned{database: db, base: db, past: past}
		}
	}
	p.revision = func(ctx context.Context, name string, build bool) (gsql.Database, bool, error) {
		return past.revision(ctx, p.dbs, name, build)
	}
	p.tableFunctions = map[string]gsql.TableFunction{DiffFunction: &diffFunction{past: past}}
}

// asOfParams refuses a statement whose AS OF is a parameter (AS OF ?)
// before GMS prepares it: GMS evaluates AS OF while it builds the plan,
// before parameters are bound, and a parameter there panics inside it and
// drops the connection.
type asOfParams struct{ passThrough }

var _ server.Interceptor = asOfParams{}

// Priority: before GMS, after the guard.
func (asOfParams) Priority() int { return 1 }

// errAsOfParam is the refusal of AS OF ?.
var errAsOfParam = mysql.NewSQLError(mysql.ERNotSupportedYet, mysql.SSClientError,
	"AS OF takes a literal seq or time, not a parameter (AS OF ?): GMS resolves it while it plans the statement, before parameters are bound; write the value into the statement text, or connect to the past database (e.g. shop@1000)")

func (asOfParams) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) (fields []*querypb.Field, err error) {
	if asOfParameter(query) {
		return nil, errAsOfParam
	}
	defer recoverAsOf(query, &err)
	return chain.ComPrepare(ctx, c, query, prepare)
}

func (asOfParams) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (err error) {
	if asOfParameter(query) {
		return errAsOfParam
	}
	defer recoverAsOf(query, &err)
	return chain.ComQuery(ctx, c, query, callback)
}

// recoverAsOf turns a panic inside GMS while it plans a statement with AS
// OF (a parameter that reached it another way: PREPARE s FROM @text) into
// the statement's error, so the connection survives.
func recoverAsOf(query string, err *error) {
	if !mentionsAsOf(query) && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(query)), "prepare") {
		return
	}
	if r := recover(); r != nil {
		*err = mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "the statement failed inside the SQL engine (%v); AS OF takes a literal seq or time, not a parameter or variable", r)
	}
}

// mentionsAsOf tells whether query's text may hold AS OF.
func mentionsAsOf(query string) bool {
	lower := strings.ToLower(query)
	return strings.Contains(lower, "as of") || strings.Contains(lower, "system_time")
}

// asOfParameter tells whether query has AS OF with a parameter (a ? or
// :name) or a user variable, anywhere. Only statements whose text holds
// "as of" (or "system_time") are parsed.
func asOfParameter(query string) bool {
	if !mentionsAsOf(query) {
		return false
	}
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return false
	}
	if p, ok := stmt.(*sqlparser.Prepare); ok { // PREPARE s FROM '... AS OF ?'
		return asOfParameter(p.Expr)
	}
	found := false
	param := func(e sqlparser.Expr) {
		_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
			if v, ok := n.(*sqlparser.SQLVal); ok && v.Type == sqlparser.ValArg {
				found = true
			}
			return !found, nil
		}, e)
	}
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch n := n.(type) {
		case *sqlparser.AliasedTableExpr:
			if n.AsOf != nil {
				param(n.AsOf.Time)
			}
		case *sqlparser.ShowTablesOpt:
			if n.AsOf != nil {
				param(n.AsOf)
			}
		}
		return !found, nil
	}, stmt)
	return found
}

// AliasedName is the name privileges are checked on: a past database's
// are its present's (a reader of shop reads shop@1000).
func (v *versioned) AliasedName() string { return v.base.name }

var _ gsql.AliasedDatabase = (*versioned)(nil)

// revisionAuth checks the privileges on a past database (shop@1000) as on
// its present (shop): GMS's authorization strips only Dolt's revisions
// (db/branch) from a database's name.
type revisionAuth struct{ gsql.AuthorizationHandler }

type revisionAuthFactory struct {
	inner gsql.AuthorizationHandlerFactory
}

func (f revisionAuthFactory) CreateHandler(cat gsql.Catalog) gsql.AuthorizationHandler {
	return revisionAuth{f.inner.CreateHandler(cat)}
}

var installRevisionAuth sync.Once

// presentName is the database whose privileges cover name: name without
// its point of the past; "" (the current database) likewise.
func presentName(ctx *gsql.Context, name string) string {
	n := name
	if n == "" {
		n = ctx.GetCurrentDatabase()
	}
	if base, _, ok := strings.Cut(n, RevisionSeparator); ok {
		return base
	}
	return name
}

func (h revisionAuth) HandleAuth(ctx *gsql.Context, state gsql.AuthorizationQueryState, auth sqlparser.AuthInformation) error {
	names := slices.Clone(auth.TargetNames)
	step := 0
	switch auth.TargetType {
	case sqlparser.AuthTargetType_DatabaseIdentifiers:
		step = 1
	case sqlparser.AuthTargetType_MultipleTableIdentifiers:
		step = 2
	case sqlparser.AuthTargetType_SingleTableIdentifier, sqlparser.AuthTargetType_TableColumn:
		step = len(names) + 1 // the first only
	}
	for i := 0; step > 0 && i < len(names); i += step {
		names[i] = presentName(ctx, names[i])
	}
	auth.TargetNames = names
	return h.AuthorizationHandler.HandleAuth(ctx, state, auth)
}

func (h revisionAuth) CheckDatabase(ctx *gsql.Context, state gsql.AuthorizationQueryState, db string) error {
	return h.AuthorizationHandler.CheckDatabase(ctx, state, presentName(ctx, db))
}

func (h revisionAuth) CheckSchema(ctx *gsql.Context, state gsql.AuthorizationQueryState, db, schema string) error {
	return h.AuthorizationHandler.CheckSchema(ctx, state, presentName(ctx, db), schema)
}

func (h revisionAuth) CheckTable(ctx *gsql.Context, state gsql.AuthorizationQueryState, db, schema, table string) error {
	return h.AuthorizationHandler.CheckTable(ctx, state, presentName(ctx, db), schema, table)
}
