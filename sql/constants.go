package sql

import (
	"context"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// constantSelects answers SELECTs of numeric literals, such as the SELECT 1
// connection pools send to check a connection, with the answer GMS gave the
// first time: it cannot change. GMS plans every statement without a table
// at about 250 µs of CPU, most of it building three throwaway sessions with
// every system and status variable (plan.IsDualTable calls
// sql.NewEmptyContext), which made SELECT 1 forty times slower than a
// primary-key lookup. Only numbers and NULL qualify: a string literal's
// result column depends on the session's character set.
type constantSelects struct {
	passThrough
	mu      sync.RWMutex
	answers map[string]*sqltypes.Result // by statement text
}

var _ server.Interceptor = (*constantSelects)(nil)

// maxConstants bounds the statements constantSelects remembers.
const maxConstants = 1000

func newConstantSelects() *constantSelects {
	return &constantSelects{answers: map[string]*sqltypes.Result{}}
}

// Priority: inside the guard and the limits, like the prepared reads.
func (*constantSelects) Priority() int { return 3 }

func (c *constantSelects) Query(ctx context.Context, chain server.Chain, conn *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	return c.answer(query, callback, func(cb func(*sqltypes.Result, bool) error) error {
		return chain.ComQuery(ctx, conn, query, cb)
	})
}

func (c *constantSelects) MultiQuery(ctx context.Context, chain server.Chain, conn *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (string, error) {
	var rest string
	err := c.answer(query, callback, func(cb func(*sqltypes.Result, bool) error) (err error) {
		rest, err = chain.ComMultiQuery(ctx, conn, query, cb)
		return err
	})
	return rest, err
}

// answer sends the remembered answer to query, or runs it through GMS
// (run) and remembers the answer if query is a constant SELECT.
func (c *constantSelects) answer(query string, callback func(*sqltypes.Result, bool) error, run func(func(*sqltypes.Result, bool) error) error) error {
	c.mu.RLock()
	res, ok := c.answers[query]
	c.mu.RUnlock()
	if ok {
		return callback(res, false)
	}
	if !isConstantSelect(query) {
		return run(callback)
	}
	var got sqltypes.Result
	err := run(func(r *sqltypes.Result, more bool) error {
		if got.Fields == nil {
			got.Fields = r.Fields
		}
		got.Rows = append(got.Rows, r.Rows...)
		return callback(r, more)
	})
	if err == nil && got.Fields != nil && len(got.Rows) == 1 {
		c.mu.Lock()
		if len(c.answers) >= maxConstants {
			clear(c.answers)
		}
		c.answers[query] = &got
		c.mu.Unlock()
	}
	return err
}

// maxConstantSelect bounds the text of a constant SELECT: longer
// statements are not parsed once more to find out.
const maxConstantSelect = 256

// isConstantSelect reports whether query is one SELECT of numeric literals
// (or NULL), aliased or not, from no table or DUAL, with no other clause.
// Every text statement asks, so the parse is kept for short ones without a
// function call or variable.
func isConstantSelect(query string) bool {
	q := strings.TrimSpace(query)
	if len(q) > maxConstantSelect || len(q) < len("select") || !strings.EqualFold(q[:len("select")], "select") ||
		strings.ContainsAny(q, "(@") {
		return false
	}
	if strings.Contains(strings.TrimRight(q, "; \t\r\n"), ";") {
		return false // several statements
	}
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return false
	}
	sel, ok := stmt.(*sqlparser.Select)
	if !ok || sel.Where != nil || sel.GroupBy != nil || sel.Having != nil || sel.OrderBy != nil || sel.Limit != nil ||
		sel.Window != nil || sel.Into != nil || sel.With != nil || (sel.Lock != nil && sel.Lock.Type != "") ||
		len(sel.QueryOpts.DistinctOn) > 0 || sel.QueryOpts.SQLCalcFoundRows || len(sel.From) > 1 {
		return false
	}
	if len(sel.From) == 1 {
		t, ok := sel.From[0].(*sqlparser.AliasedTableExpr)
		if !ok {
			return false
		}
		tn, ok := t.Expr.(sqlparser.TableName)
		if !ok || !tn.DbQualifier.IsEmpty() || !strings.EqualFold(tn.Name.String(), "dual") {
			return false
		}
	}
	for _, e := range sel.SelectExprs {
		ae, ok := e.(*sqlparser.AliasedExpr)
		if !ok {
			return false
		}
		switch v := ae.Expr.(type) {
		case *sqlparser.NullVal:
		case *sqlparser.SQLVal:
			if v.Type != sqlparser.IntVal && v.Type != sqlparser.FloatVal {
				return false
			}
		default:
			return false
		}
	}
	return true
}
