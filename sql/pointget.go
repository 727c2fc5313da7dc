package sql

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/server"
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// pointGets runs prepared primary-key lookups without GMS's planner.
//
// GMS caches only the parsed form of a prepared statement: every execution
// builds and analyzes the plan again, which is most of the CPU of a point
// select (measured with pprof under sysbench's oltp_point_select). The most
// common statement of OLTP reads, SELECT columns FROM t WHERE pk = ?, has one
// plan whatever the value: read one row of the statement's snapshot. Such
// statements (one app table, a single-column primary key compared to one
// parameter, plain columns selected) are recognised when prepared; their
// first execution goes through GMS, whose result columns are kept, and later
// executions read the row directly and encode it with the same GMS types.
// Anything else, and any parameter that does not convert exactly to the key
// column's type, goes through GMS.
type pointGets struct {
	passThrough
	app *database
	mu  sync.RWMutex
	// plans by current database and statement text; nil: not a point get.
	plans map[string]*pointPlan
}

type pointPlan struct {
	table  *table
	cols   []int                            // selected column ordinals
	fields atomic.Pointer[[]*querypb.Field] // GMS's result columns, once seen
}

var _ server.Interceptor = (*pointGets)(nil)

// maxPlans bounds the statements pointGets remembers.
const maxPlans = 10_000

func newPointGets(app *database) *pointGets {
	return &pointGets{app: app, plans: map[string]*pointPlan{}}
}

// Priority: innermost of ours, after the guard and the limits.
func (*pointGets) Priority() int { return 2 }

func (g *pointGets) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	fields, err := chain.ComPrepare(ctx, c, query, prepare)
	if err == nil {
		if s, ok := c.ClientData.(*session); ok {
			key := s.GetCurrentDatabase() + "\x00" + query
			g.mu.RLock()
			_, known := g.plans[key]
			g.mu.RUnlock()
			if !known {
				plan := g.match(s.GetCurrentDatabase(), query)
				g.mu.Lock()
				if len(g.plans) >= maxPlans {
					clear(g.plans) // clients preparing endless distinct texts must not grow it
				}
				g.plans[key] = plan
				g.mu.Unlock()
			}
		}
	}
	return fields, err
}

// match returns the plan of query if it is a point get on an app table.
func (g *pointGets) match(currentDB, query string) *pointPlan {
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return nil
	}
	sel, ok := stmt.(*sqlparser.Select)
	if !ok || !reflect.DeepEqual(sel.QueryOpts, sqlparser.QueryOpts{}) || sel.GroupBy != nil || sel.Having != nil || sel.OrderBy != nil ||
		sel.Window != nil || sel.Limit != nil || (sel.Lock != nil && sel.Lock.Type != "") || sel.Into != nil || sel.With != nil || len(sel.From) != 1 || sel.Where == nil {
		return nil
	}
	from, ok := sel.From[0].(*sqlparser.AliasedTableExpr)
	if !ok || !from.As.IsEmpty() || from.AsOf != nil || from.Hints != nil {
		return nil
	}
	tn, ok := from.Expr.(sqlparser.TableName)
	if !ok {
		return nil
	}
	db := tn.DbQualifier.String()
	if db == "" {
		db = currentDB
	}
	if !strings.EqualFold(db, g.app.name) {
		return nil
	}
	tb, ok := g.app.tables[strings.ToLower(tn.Name.String())].(*table)
	if !ok || len(tb.t.Primary().Columns()) != 1 {
		return nil
	}
	cmp, ok := sel.Where.Expr.(*sqlparser.ComparisonExpr)
	if !ok || cmp.Operator != sqlparser.EqualStr {
		return nil
	}
	key, ok := cmp.Left.(*sqlparser.ColName)
	if arg, isArg := cmp.Right.(*sqlparser.SQLVal); !ok || !isArg || arg.Type != sqlparser.ValArg ||
		tb.column(key, tn) != tb.t.Primary().Columns()[0] {
		return nil
	}
	plan := &pointPlan{table: tb}
	for _, e := range sel.SelectExprs {
		ae, ok := e.(*sqlparser.AliasedExpr)
		if !ok || !ae.As.IsEmpty() {
			return nil
		}
		col, ok := ae.Expr.(*sqlparser.ColName)
		if !ok {
			return nil
		}
		i := tb.column(col, tn)
		if i < 0 {
			return nil
		}
		plan.cols = append(plan.cols, i)
	}
	return plan
}

// column is the ordinal of a column reference to t (named as tn), or -1.
func (t *table) column(c *sqlparser.ColName, tn sqlparser.TableName) int {
	if q := c.Qualifier; !q.IsEmpty() && (!strings.EqualFold(q.Name.String(), tn.Name.String()) ||
		(!q.DbQualifier.IsEmpty() && !strings.EqualFold(q.DbQualifier.String(), tn.DbQualifier.String()))) {
		return -1
	}
	for i, col := range t.schema {
		if strings.EqualFold(col.Name, c.Name.String()) {
			return i
		}
	}
	return -1
}

func (g *pointGets) StmtExecute(ctx context.Context, chain server.Chain, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	s, ok := c.ClientData.(*session)
	if !ok {
		return chain.ComStmtExecute(ctx, c, prepare, callback)
	}
	g.mu.RLock()
	plan := g.plans[s.GetCurrentDatabase()+"\x00"+prepare.PrepareStmt]
	g.mu.RUnlock()
	if plan == nil {
		return chain.ComStmtExecute(ctx, c, prepare, callback)
	}
	if plan.fields.Load() == nil {
		return chain.ComStmtExecute(ctx, c, prepare, func(r *sqltypes.Result) error {
			if len(r.Fields) > 0 {
				plan.fields.Store(&r.Fields)
			}
			return callback(r)
		})
	}
	res, ok, err := plan.run(ctx, s, prepare)
	if err != nil || !ok {
		return chain.ComStmtExecute(ctx, c, prepare, callback)
	}
	return callback(res)
}

// run executes the point get; false when the parameter needs GMS's rules.
func (p *pointPlan) run(ctx context.Context, s *session, prepare *mysql.PrepareData) (*sqltypes.Result, bool, error) {
	if len(prepare.BindVars) != 1 {
		return nil, false, nil
	}
	var bv *querypb.BindVariable
	for _, v := range prepare.BindVars {
		bv = v
	}
	sctx := gsql.NewContext(ctx, gsql.WithSession(s))
	key, ok := p.table.keyValue(sctx, bv)
	if !ok {
		return nil, false, nil
	}
	view := s.src.View()
	if tx, ok := s.GetTransaction().(*snapshotTxn); ok {
		view = tx.view // inside BEGIN ... COMMIT: the transaction's snapshot
	}
	res := &sqltypes.Result{Fields: *p.fields.Load()}
	row, found, err := view.Snapshot.Get(p.table.t, key)
	if err != nil || !found {
		return res, err == nil, err
	}
	vals := gsql.Row(row)
	if p.table.hasJSON {
		if vals, err = p.table.withJSON(sctx, row); err != nil {
			return nil, false, err
		}
	}
	out := make([]sqltypes.Value, len(p.cols))
	for i, col := range p.cols {
		if out[i], err = p.table.schema[col].Type.SQL(sctx, nil, vals[col]); err != nil {
			return nil, false, err
		}
	}
	res.Rows = [][]sqltypes.Value{out}
	return res, true, nil
}

// keyValue converts a parameter to the primary key column's type, and
// reports false unless it converts exactly (GMS then applies MySQL's
// comparison rules).
func (t *table) keyValue(ctx *gsql.Context, bv *querypb.BindVariable) (any, bool) {
	if bv == nil || bv.Type == sqltypes.Null {
		return nil, false
	}
	v, err := sqltypes.NewValue(bv.Type, bv.Value)
	if err != nil {
		return nil, false
	}
	var arg any
	switch {
	case v.IsSigned():
		arg, err = strconv.ParseInt(v.ToString(), 10, 64)
	case v.IsUnsigned():
		arg, err = strconv.ParseUint(v.ToString(), 10, 64)
	case v.IsText():
		arg = v.ToString()
	default: // floats, decimals, times, binary strings: MySQL's rules apply
		return nil, false
	}
	if err != nil {
		return nil, false
	}
	typ := t.schema[t.t.Primary().Columns()[0]].Type
	cv, inRange, err := typ.Convert(ctx, arg)
	if err != nil || inRange != gsql.InRange || cv == nil {
		return nil, false
	}
	if c, err := typ.Compare(ctx, cv, arg); err != nil || c != 0 {
		return nil, false
	}
	return cv, true
}
