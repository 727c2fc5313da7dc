package sql

import (
	"context"
	"strings"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// explainNulls sends the NULLs of plain EXPLAIN as NULLs. GMS fills its
// columns with the text "NULL", also its numeric ones (rows), which clients
// that convert by column type refuse (pymysql fails on it, Go's driver
// cannot scan it into a number).
type explainNulls struct{ passThrough }

var _ server.Interceptor = explainNulls{}

func (explainNulls) Priority() int { return 2 }

func isExplain(query string) bool {
	q := strings.TrimSpace(query)
	return len(q) >= 7 && strings.EqualFold(q[:7], "explain") || len(q) >= 4 && strings.EqualFold(q[:4], "desc")
}

func nullTexts(r *sqltypes.Result) {
	if r == nil {
		return
	}
	for i := range r.Fields {
		for _, row := range r.Rows {
			if i < len(row) && !row[i].IsNull() && strings.EqualFold(row[i].ToString(), "NULL") {
				row[i] = sqltypes.NULL
			}
		}
	}
}

func (explainNulls) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	if !isExplain(query) {
		return chain.ComQuery(ctx, c, query, callback)
	}
	return chain.ComQuery(ctx, c, query, func(r *sqltypes.Result, more bool) error {
		nullTexts(r)
		return callback(r, more)
	})
}

func (e explainNulls) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, _ sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return e.Query(context.Background(), chain, c, query, callback)
}
