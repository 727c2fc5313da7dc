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
//
// It also holds a statement's first holdBytes of results back until the
// statement ends: the MySQL library under GMS cannot send an error once
// rows went out and closes the connection instead (the client sees 2013).
// A statement interrupted (timeout, KILL QUERY) before its results reached
// holdBytes gets its error and keeps its connection; larger results stream
// from then on, and an interruption after that still closes the connection.
type mysqlErrors struct{ passThrough }

// rowsOwned marks (as a result's Extras, which nothing else sets) a result
// whose values no one writes again once sent: ownRows need not copy them.
var rowsOwned = &querypb.ResultExtras{}

// holdBytes is how much of a statement's results mysqlErrors holds back.
const holdBytes = 8 << 20

// heldResults buffers results until they reach holdBytes.
type heldResults struct {
	held      []*sqltypes.Result
	more      []bool
	size      int
	streaming bool
}

func resultBytes(r *sqltypes.Result) int {
	n := 0
	for _, row := range r.Rows {
		for _, v := range row {
			n += v.Len() + 2
		}
	}
	return n
}

// add holds r, or sends what is held and r once they reach holdBytes.
func (h *heldResults) add(r *sqltypes.Result, more bool, send func(*sqltypes.Result, bool) error) error {
	if h.streaming {
		return send(r, more)
	}
	h.held, h.more = append(h.held, ownRows(r)), append(h.more, more)
	if h.size += resultBytes(r); h.size < holdBytes {
		return nil
	}
	h.streaming = true
	return h.flush(send)
}

// ownRows copies r's values: GMS encodes them into a buffer it reuses once
// the callback returned (with a cursor) or the statement ended. Results
// marked rowsOwned (the read plans', encoded into arrays of their own) are
// held as they are: the copy was 9% of the server's CPU under sysbench's
// oltp_read_only.
func ownRows(r *sqltypes.Result) *sqltypes.Result {
	if r == nil || len(r.Rows) == 0 || r.Extras == rowsOwned {
		return r
	}
	out := *r
	out.Rows = make([][]sqltypes.Value, len(r.Rows))
	for i, row := range r.Rows {
		own := make([]sqltypes.Value, len(row))
		for j, v := range row {
			if v.IsNull() {
				own[j] = v
			} else {
				own[j] = sqltypes.MakeTrusted(v.Type(), append([]byte(nil), v.Raw()...))
			}
		}
		out.Rows[i] = own
	}
	return &out
}

func (h *heldResults) flush(send func(*sqltypes.Result, bool) error) error {
	held, more := h.held, h.more
	h.held, h.more = nil, nil
	for i, r := range held {
		if err := send(r, more[i]); err != nil {
			return err
		}
	}
	return nil
}

// run runs a statement through h: held results are sent only if it
// succeeds, so that its error goes out before any row.
func (h *heldResults) run(ctx context.Context, send func(*sqltypes.Result, bool) error, stmt func(func(*sqltypes.Result, bool) error) error) error {
	err := stmt(func(r *sqltypes.Result, more bool) error { return h.add(r, more, send) })
	if err != nil {
		return mysqlError(ctx, err)
	}
	return h.flush(send)
}

var _ server.Interceptor = mysqlErrors{}

// Priority: outside timeLimit, which answers its own 3024.
func (mysqlErrors) Priority() int { return -2 }

func mysqlError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var sqlErr *mysql.SQLError
	if errors.As(err, &sqlErr) && sqlErr.Number() == mysql.ERMixOfGroupFuncAndFields && strings.Contains(sqlErr.Message, "%!") {
		// GMS's message for a window function over an aggregate in a
		// grouped query lacks its arguments ("expression #%!d(MISSING)").
		return mysql.NewSQLError(mysql.ERMixOfGroupFuncAndFields, sqlErr.SQLState(),
			"a window function over an aggregate in a grouped query is not supported here: group in a derived table and apply the window function outside it")
	}
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
	var h heldResults
	return h.run(ctx, callback, func(cb func(*sqltypes.Result, bool) error) error { return chain.ComQuery(ctx, c, query, cb) })
}

func (e mysqlErrors) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, _ sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return e.Query(context.Background(), chain, c, query, callback)
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
	var h heldResults
	send := func(r *sqltypes.Result, _ bool) error { return callback(r) }
	return h.run(ctx, send, func(cb func(*sqltypes.Result, bool) error) error {
		return chain.ComStmtExecute(ctx, c, prepare, func(r *sqltypes.Result) error { return cb(r, false) })
	})
}
