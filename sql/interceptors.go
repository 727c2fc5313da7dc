package sql

import (
	"context"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// passThrough forwards every call down the interceptor chain. Our
// interceptors (the read-only guard, accounts' grants, limits, prepared reads, constant selects)
// embed it and override only the calls they act on.
type passThrough struct{}

func (passThrough) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	return chain.ComQuery(ctx, c, query, callback)
}

func (passThrough) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, _ sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return chain.ComQuery(context.Background(), c, query, callback)
}

func (passThrough) MultiQuery(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (string, error) {
	return chain.ComMultiQuery(ctx, c, query, callback)
}

func (passThrough) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	return chain.ComPrepare(ctx, c, query, prepare)
}

func (passThrough) StmtExecute(ctx context.Context, chain server.Chain, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	return chain.ComStmtExecute(ctx, c, prepare, callback)
}

// okInfo drops the info text of OK results ("Statement prepared" after
// PREPARE). The MySQL library under GMS writes it after a stray '#' byte,
// which clients read as the length of a length-encoded string: libmysqlclient
// and libmariadb (the mysql command-line client, connectors built on them)
// report 2027 "Malformed packet" and the connection is lost. MySQL clients
// only display the text; the OK itself is what matters.
type okInfo struct{ passThrough }

var _ server.Interceptor = okInfo{}

// Priority: outermost, so that no result escapes it.
func (okInfo) Priority() int { return -3 }

func dropInfo(callback func(*sqltypes.Result, bool) error) func(*sqltypes.Result, bool) error {
	return func(r *sqltypes.Result, more bool) error {
		if r != nil && len(r.Fields) == 0 {
			r.Info = ""
		}
		return callback(r, more)
	}
}

func (okInfo) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	return chain.ComQuery(ctx, c, query, dropInfo(callback))
}

func (okInfo) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, _ sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return chain.ComQuery(context.Background(), c, query, dropInfo(callback))
}

func (okInfo) MultiQuery(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (string, error) {
	return chain.ComMultiQuery(ctx, c, query, dropInfo(callback))
}
