package sql

import (
	"context"
	"errors"
	"time"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// DefaultQueryTimeout is `imago serve`'s default --mysql-query-timeout.
// go-mysql-server runs a statement on one goroutine until it ends, so
// without a bound one bad subquery holds a core as long as it likes (the
// analysts issue measured a grouped scalar subquery still running after 10
// minutes). Five minutes leaves room for legitimate heavy work: the slowest
// query of sql/difftest that finishes on 20,000 orders takes about a
// minute, and a cold AS OF point on a large log replays for tens of seconds.
const DefaultQueryTimeout = 5 * time.Minute

// timeLimit cancels a statement that runs longer than limit and answers
// MySQL's ER_QUERY_TIMEOUT (3024); the connection stays usable.
type timeLimit struct {
	passThrough
	limit time.Duration
}

var _ server.Interceptor = timeLimit{}

// Priority: run outside the read-only guard, so its time counts too.
func (timeLimit) Priority() int { return -1 }

func (t timeLimit) run(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, t.limit)
	defer cancel()
	err := fn(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return mysql.NewSQLError(mysql.ERQueryTimeout, mysql.SSUnknownSQLState,
			"Query execution was interrupted: it ran longer than the limit of %s (--mysql-query-timeout)", t.limit)
	}
	return err
}

func (t timeLimit) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	return t.run(ctx, func(ctx context.Context) error { return chain.ComQuery(ctx, c, query, callback) })
}

func (t timeLimit) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, _ sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return t.run(context.Background(), func(ctx context.Context) error { return chain.ComQuery(ctx, c, query, callback) })
}

func (t timeLimit) MultiQuery(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (string, error) {
	var rest string
	err := t.run(ctx, func(ctx context.Context) (err error) {
		rest, err = chain.ComMultiQuery(ctx, c, query, callback)
		return err
	})
	return rest, err
}

func (t timeLimit) StmtExecute(ctx context.Context, chain server.Chain, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	return t.run(ctx, func(ctx context.Context) error { return chain.ComStmtExecute(ctx, c, prepare, callback) })
}
