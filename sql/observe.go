package sql

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// Observer is told about every statement the server answers; a metrics
// exporter implements it. Calls come from connection goroutines: they must
// be quick and safe for concurrent use.
type Observer interface {
	// Statement: a statement of kind (see statementKind) ran for d; failed
	// says whether the client got an error.
	Statement(kind string, d time.Duration, failed bool)
}

// statementClock times every statement for the Observer and logs the
// ones slower than slow (0: none) at warn level, outermost in the chain so
// that the time is the client's.
type statementClock struct {
	passThrough
	obs  Observer // may be nil
	slow time.Duration
	log  *slog.Logger
}

var _ server.Interceptor = statementClock{}

func (statementClock) Priority() int { return -2 }

// maxLoggedQuery bounds the statement text of a slow-query line.
const maxLoggedQuery = 2000

func (s statementClock) observe(kind string, start time.Time, err error, c *mysql.Conn, query string) {
	d := time.Since(start)
	if s.obs != nil {
		s.obs.Statement(kind, d, err != nil)
	}
	if s.slow > 0 && d >= s.slow {
		if len(query) > maxLoggedQuery {
			query = query[:maxLoggedQuery] + "..."
		}
		s.log.Warn("slow query", "ms", d.Milliseconds(), "kind", kind, "user", c.User, "conn", c.ConnectionID,
			"failed", err != nil, "query", query)
	}
}

func (s statementClock) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	start := time.Now()
	err := chain.ComQuery(ctx, c, query, callback)
	s.observe(statementKind(query), start, err, c, query)
	return err
}

func (s statementClock) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, _ sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return s.Query(context.Background(), chain, c, query, callback)
}

func (s statementClock) MultiQuery(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (string, error) {
	start := time.Now()
	rest, err := chain.ComMultiQuery(ctx, c, query, callback)
	s.observe(statementKind(query), start, err, c, query)
	return rest, err
}

func (s statementClock) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	start := time.Now()
	fields, err := chain.ComPrepare(ctx, c, query, prepare)
	s.observe("prepare", start, err, c, query)
	return fields, err
}

func (s statementClock) StmtExecute(ctx context.Context, chain server.Chain, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	start := time.Now()
	err := chain.ComStmtExecute(ctx, c, prepare, callback)
	s.observe("execute", start, err, c, prepare.PrepareStmt)
	return err
}

// statementKinds are the kinds statementKind tells apart: a fixed set, so
// that metrics labelled by kind stay few.
var statementKinds = map[string]string{
	"select": "select", "with": "select", "show": "show", "set": "set", "use": "use",
	"begin": "transaction", "start": "transaction", "commit": "transaction", "rollback": "transaction",
	"describe": "explain", "desc": "explain", "explain": "explain",
}

// statementKind is the kind of a text statement by its first word:
// select, show, set, use, transaction, explain, or other.
func statementKind(query string) string {
	q := strings.TrimLeft(query, " \t\r\n(")
	for strings.HasPrefix(q, "/*") { // a leading comment, as drivers send
		end := strings.Index(q, "*/")
		if end < 0 {
			return "other"
		}
		q = strings.TrimLeft(q[end+2:], " \t\r\n(")
	}
	word := q
	if i := strings.IndexAny(q, " \t\r\n(;"); i >= 0 {
		word = q[:i]
	}
	if kind, ok := statementKinds[strings.ToLower(word)]; ok {
		return kind
	}
	return "other"
}
