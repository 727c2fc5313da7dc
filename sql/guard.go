package sql

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/server"
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// ReadOnlyMessage is what a client that tries to change anything is told.
const ReadOnlyMessage = "Imago's SQL interface is read-only: change data by submitting commands " +
	"to the HTTP write API (POST /v1/commands/{name}; GET /v1/commands lists them)"

// errReadOnly is MySQL's ER_OPTION_PREVENTS_STATEMENT (1290), which clients
// know as the read-only refusal, with our message.
func errReadOnly(what string) error {
	return mysql.NewSQLError(mysql.EROptionPreventsStatement, mysql.SSUnknownSQLState, "%s refused. %s", what, ReadOnlyMessage)
}

// readOnlyGuard refuses what GMS's own read-only mode lets through (SET
// GLOBAL, ANALYZE, LOAD_FILE, SELECT ... INTO OUTFILE) before it runs, and
// turns GMS's read-only errors into errReadOnly. It also refuses statements
// beyond the limits, before GMS plans them: it parses every statement
// anyway. Texts it let through once are let through again without a parse
// (see allowedTexts).
type readOnlyGuard struct {
	limits  statementLimits
	allowed *allowedTexts
}

var _ server.Interceptor = readOnlyGuard{}

func newReadOnlyGuard(limits statementLimits) readOnlyGuard {
	return readOnlyGuard{limits: limits, allowed: newAllowedTexts()}
}

func (readOnlyGuard) Priority() int { return 0 }

// check refuses query (stmt, when it parsed) if it is beyond the limits or
// must not run here.
func (g readOnlyGuard) check(query string, stmt sqlparser.Statement) error {
	if err := g.limits.checkText(query); err != nil {
		return err
	}
	if stmt == nil {
		return nil // GMS reports the syntax error
	}
	if err := g.limits.checkTree(stmt); err != nil {
		return err
	}
	if p, ok := stmt.(*sqlparser.Prepare); ok && p.Expr != "" {
		// PREPARE s FROM '...': GMS plans the text now.
		inner, err := sqlparser.Parse(p.Expr)
		if err != nil {
			return nil
		}
		return g.check(p.Expr, inner)
	}
	return refuse(stmt)
}

// parse is the statement in query, or nil if the text is too long to be
// parsed or does not parse (then check or GMS report it).
func (g readOnlyGuard) parse(query string) sqlparser.Statement {
	if g.limits.checkText(query) != nil {
		return nil
	}
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return nil
	}
	return stmt
}

// checkText is check of query as parsed by parse, remembered for the
// statements it lets through (one of multi, the MultiQuery parse of the
// first statement, or not).
func (g readOnlyGuard) checkText(query string, multi bool, parse func(string) sqlparser.Statement) error {
	if g.allowed.has(query, multi) {
		return nil
	}
	stmt := parse(query)
	if err := g.check(query, stmt); err != nil {
		return err
	}
	if stmt != nil {
		// Only parsed statements: a text that does not parse passes check
		// for GMS to report, and that is no verdict on what it would do.
		g.allowed.add(query, multi)
	}
	return nil
}

// parseFirst is the first statement in query, or nil as for parse.
func (g readOnlyGuard) parseFirst(ctx context.Context, query string) sqlparser.Statement {
	if g.limits.checkText(query) != nil {
		return nil
	}
	stmt, _, err := sqlparser.ParseOne(ctx, query)
	if err != nil {
		return nil
	}
	return stmt
}

func (g readOnlyGuard) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	if err := g.checkText(query, false, g.parse); err != nil {
		return err
	}
	return translate(chain.ComQuery(ctx, c, query, callback))
}

func (g readOnlyGuard) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, parsed sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	if err := g.check(query, parsed); err != nil {
		return err
	}
	return translate(chain.ComQuery(context.Background(), c, query, callback))
}

func (g readOnlyGuard) MultiQuery(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (string, error) {
	// The statements after the first come back here with the rest of the text.
	if err := g.checkText(query, true, func(query string) sqlparser.Statement { return g.parseFirst(ctx, query) }); err != nil {
		return "", err
	}
	rest, err := chain.ComMultiQuery(ctx, c, query, callback)
	return rest, translate(err)
}

func (g readOnlyGuard) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	if err := g.checkText(query, false, g.parse); err != nil {
		return nil, err
	}
	fields, err := chain.ComPrepare(ctx, c, query, prepare)
	return fields, translate(err)
}

func (readOnlyGuard) StmtExecute(ctx context.Context, chain server.Chain, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	return translate(chain.ComStmtExecute(ctx, c, prepare, callback))
}

// refuse returns errReadOnly for statements that must not run here.
func refuse(stmt sqlparser.Statement) error {
	switch s := stmt.(type) {
	case *sqlparser.Set:
		for _, e := range s.Exprs {
			switch e.Scope {
			case sqlparser.SetScope_Global, sqlparser.SetScope_Persist, sqlparser.SetScope_PersistOnly:
				return errReadOnly("SET GLOBAL")
			}
		}
		return nil
	case *sqlparser.Insert, *sqlparser.Update, *sqlparser.Delete:
		return errReadOnly("Writing rows")
	case *sqlparser.DDL:
		if s.Temporary {
			// MySQL's read_only mode allows temporary tables; here every table
			// is the image's and GMS's read-only engine cannot hold session
			// tables. Tools that probe for them (Tableau does, at connect) take
			// the refusal as "no temporary tables" and query directly.
			return errReadOnly("CREATE TEMPORARY TABLE (Imago has no session tables)")
		}
		return errReadOnly("DDL")
	case *sqlparser.DBDDL, *sqlparser.AlterTable, *sqlparser.CreateSpatialRefSys:
		return errReadOnly("DDL")
	case *sqlparser.Load:
		return errReadOnly("LOAD DATA")
	case *sqlparser.Analyze:
		return errReadOnly("ANALYZE (statistics are kept by Imago)")
	}
	var refused error
	_ = sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
		switch n := node.(type) {
		case *sqlparser.Into:
			if n != nil && (n.Outfile != "" || n.Dumpfile != "") {
				refused = errReadOnly("SELECT ... INTO OUTFILE/DUMPFILE")
			}
		case *sqlparser.FuncExpr:
			if n != nil && n.Name.Lowered() == "load_file" {
				refused = errReadOnly("LOAD_FILE")
			}
		}
		return refused == nil, nil
	}, stmt)
	return refused
}

// translate turns GMS's refusals of writes into errReadOnly, and gives
// common mistakes that GMS reports as 1105 (unknown error) MySQL's codes:
// clients and ORMs branch on them.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if gsql.ErrReadOnly.Is(err) || gsql.ErrReadOnlyTransaction.Is(err) || isReadOnlyText(err) {
		return errReadOnly("Writing")
	}
	var se *mysql.SQLError
	if errors.As(err, &se) && se.Num == mysql.ERUnknownError {
		for _, m := range mysqlCodes {
			if strings.Contains(se.Message, m.text) {
				return mysql.NewSQLError(m.code, m.state, "%s", se.Message)
			}
		}
	}
	return err
}

// mysqlCodes recognise GMS's messages for mistakes MySQL has a code for.
var mysqlCodes = []struct {
	text  string
	code  int
	state string
}{
	{"syntax error at position", mysql.ERParseError, mysql.SSClientError},
	{"could not be found in any table in scope", mysql.ERBadFieldError, mysql.SSBadFieldError},
}

func isReadOnlyText(err error) bool {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return strings.Contains(se.Message, gsql.ErrReadOnly.Message) || strings.Contains(se.Message, gsql.ErrReadOnlyTransaction.Message)
	}
	return false
}

// allowedTexts remembers statement texts the guard let through. The
// guard's verdict depends on the text alone: it parses with the parser's
// defaults (no session SQL mode), its limits are the server's, and it
// looks at no grant, user or current database (readerGrants, further in,
// checks grants on every statement). So a text allowed once is allowed for
// every session. Refusals are not remembered: refused texts are parsed
// every time, and nothing can be let through that was not checked. Parse
// and limit walk were a quarter of the CPU of a SELECT 1 (46 µs a query,
// bench/sysbench.sh); a hit is a map read under a read lock.
type allowedTexts struct {
	mu    sync.RWMutex
	texts map[allowedText]struct{}
}

// allowedText is a text and the parse that judged it: MultiQuery judges
// the first of several statements, which Parse would reject whole.
type allowedText struct {
	text  string
	multi bool
}

// maxAllowedTexts bounds the texts remembered and maxAllowedText their
// length: at most 4 MB of text. A full cache is emptied rather than
// trimmed: applications repeat a few hundred texts (placeholders for
// values), and a stream of distinct texts gains nothing from a cache.
const (
	maxAllowedTexts = 1000
	maxAllowedText  = 4096
)

func newAllowedTexts() *allowedTexts {
	return &allowedTexts{texts: map[allowedText]struct{}{}}
}

func (a *allowedTexts) has(text string, multi bool) bool {
	if a == nil {
		return false
	}
	a.mu.RLock()
	_, ok := a.texts[allowedText{text, multi}]
	a.mu.RUnlock()
	return ok
}

func (a *allowedTexts) add(text string, multi bool) {
	if a == nil || len(text) > maxAllowedText {
		return
	}
	a.mu.Lock()
	if len(a.texts) >= maxAllowedTexts {
		clear(a.texts)
	}
	a.texts[allowedText{text, multi}] = struct{}{}
	a.mu.Unlock()
}
