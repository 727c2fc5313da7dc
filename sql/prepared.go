package sql

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/server"
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// preparedReads runs common prepared reads of one app table without GMS's
// planner.
//
// GMS caches only the parsed form of a prepared statement: every execution
// builds and analyzes the plan again, which is most of the CPU of an OLTP
// read (measured with pprof under sysbench: the analyzer alone 30%, and
// building a throwaway session with every system variable each time an
// aliased expression is printed another 21%; under TPC-C GMS's plans took
// 13% of the server's CPU). The reads OLTP applications prepare most (a row
// by primary key, composite or not; rows by a prefix of a key or of a
// secondary index, or a range of its next column, with a sort, DISTINCT,
// LIMIT or an aggregate) have one plan whatever the parameters: scan that
// index's range of the statement's snapshot. Such statements are recognised when
// prepared (see readPlan); their first execution goes through GMS, whose
// result columns are kept, and later executions run the plan directly,
// encoding values with the same GMS types and computing aggregates with
// GMS's own functions. Anything else, and any parameter that does not
// convert exactly to the key column's type, goes through GMS.
type preparedReads struct {
	passThrough
	app *database
	mu  sync.RWMutex
	// plans by current database and statement text; nil: not a plan of ours.
	plans   map[string]*preparedPlan
	planned atomic.Int64 // executions answered by a plan
}

// preparedPlan is a readPlan and the result columns GMS gave it.
type preparedPlan struct {
	*readPlan
	result atomic.Pointer[planResult] // once GMS has run the statement
}

// planResult is what GMS answered the statement with: its result columns,
// and the types that encode the plan's values as those columns (nil when
// they cannot: the statement then always goes through GMS).
type planResult struct {
	fields []*querypb.Field
	types  []gsql.Type
}

var _ server.Interceptor = (*preparedReads)(nil)

// maxPlans bounds the statements preparedReads remembers.
const maxPlans = 10_000

func newPreparedReads(app *database) *preparedReads {
	return &preparedReads{app: app, plans: map[string]*preparedPlan{}}
}

// Priority: innermost of ours, after the guard and the limits.
func (*preparedReads) Priority() int { return 2 }

func (g *preparedReads) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	fields, err := chain.ComPrepare(ctx, c, query, prepare)
	if err != nil {
		return fields, err
	}
	s, ok := c.ClientData.(*session)
	if !ok {
		return fields, nil
	}
	key := s.GetCurrentDatabase() + "\x00" + query
	g.mu.RLock()
	_, known := g.plans[key]
	g.mu.RUnlock()
	if known {
		return fields, nil
	}
	var plan *preparedPlan
	if rp := matchReadPlan(g.app, s.GetCurrentDatabase(), query); rp != nil {
		plan = &preparedPlan{readPlan: rp}
	}
	g.mu.Lock()
	if len(g.plans) >= maxPlans {
		clear(g.plans) // clients preparing endless distinct texts must not grow it
	}
	g.plans[key] = plan
	g.mu.Unlock()
	return fields, nil
}

func (g *preparedReads) StmtExecute(ctx context.Context, chain server.Chain, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
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
	res := plan.result.Load()
	if res == nil {
		return chain.ComStmtExecute(ctx, c, prepare, func(r *sqltypes.Result) error {
			if len(r.Fields) > 0 {
				plan.result.Store(&planResult{fields: r.Fields, types: plan.resultTypes(r.Fields)})
			}
			return callback(r)
		})
	}
	if res.types == nil {
		return chain.ComStmtExecute(ctx, c, prepare, callback)
	}
	ok, err := plan.run(ctx, s, prepare.BindVars, res.types, func(rows [][]sqltypes.Value) error {
		return callback(&sqltypes.Result{Fields: res.fields, Rows: rows, Extras: rowsOwned})
	})
	if !ok {
		return chain.ComStmtExecute(ctx, c, prepare, callback)
	}
	g.planned.Add(1)
	return err
}
