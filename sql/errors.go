package sql

import (
	"context"
	"errors"
	"strings"

	"github.com/dolthub/go-mysql-server/server"
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// mysqlErrors gives errors GMS answers with its generic 1105 the code MySQL
// uses, since clients and tools act on the code: a statement that names no
// database while none is selected is 1046 (ER_NO_DB_ERROR), a statement
// stopped by KILL QUERY is 1317 (ER_QUERY_INTERRUPTED). Timeouts are
// timeLimit's (3024).
type mysqlErrors struct{ passThrough }

var _ server.Interceptor = mysqlErrors{}

// Priority: outside timeLimit, which answers its own 3024.
func (mysqlErrors) Priority() int { return -2 }

func mysqlError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var sqlErr *mysql.SQLError
	if errors.As(err, &sqlErr) && sqlErr.Number() != mysql.ERUnknownError {
		return err
	}
	switch msg := err.Error(); {
	case gsql.ErrNoDatabaseSelected.Is(err) || strings.Contains(msg, gsql.ErrNoDatabaseSelected.Message):
		return mysql.NewSQLError(mysql.ERNoDb, "3D000", "No database selected")
	case ctx.Err() == nil && (errors.Is(err, context.Canceled) || strings.Contains(msg, context.Canceled.Error())):
		// The statement's own context was cancelled, not the connection's:
		// KILL QUERY (KILL CONNECTION closes the connection first).
		return mysql.NewSQLError(mysql.ERQueryInterrupted, "70100", "Query execution was interrupted")
	}
	return err
}

func (mysqlErrors) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	return mysqlError(ctx, chain.ComQuery(ctx, c, query, callback))
}

func (mysqlErrors) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, _ sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return mysqlError(context.Background(), chain.ComQuery(context.Background(), c, query, callback))
}

func (mysqlErrors) MultiQuery(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (string, error) {
	rest, err := chain.ComMultiQuery(ctx, c, query, callback)
	return rest, mysqlError(ctx, err)
}

func (mysqlErrors) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	fields, err := chain.ComPrepare(ctx, c, query, prepare)
	return fields, mysqlError(ctx, err)
}

func (mysqlErrors) StmtExecute(ctx context.Context, chain server.Chain, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	return mysqlError(ctx, chain.ComStmtExecute(ctx, c, prepare, callback))
}
