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
// anyway.
type readOnlyGuard struct{ limits statementLimits }

var _ server.Interceptor = readOnlyGuard{}

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

func (g readOnlyGuard) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	if err := g.check(query, g.parse(query)); err != nil {
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
	var stmt sqlparser.Statement
	if g.limits.checkText(query) == nil {
		if s, _, err := sqlparser.ParseOne(ctx, query); err == nil {
			stmt = s
		}
	}
	if err := g.check(query, stmt); err != nil {
		return "", err
	}
	rest, err := chain.ComMultiQuery(ctx, c, query, callback)
	return rest, translate(err)
}

func (g readOnlyGuard) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	if err := g.check(query, g.parse(query)); err != nil {
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
