package sql

import (
	"context"
	"strings"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/imagodb/imago/memdb"
)

// namedWindows applies rewriteStatement; it rewrites statements with a
// WINDOW clause so that every
// OVER w names no window but carries w's definition, as MySQL defines it
// (OVER (w ORDER BY ...) adds to w what w lacks). GMS refuses a named window
// beside an inline one ("window ” cannot inherit ”") and, worse, drops a
// named window's ORDER BY for aggregates (SUM(x) OVER w then sums the whole
// partition). Statements without WINDOW pass untouched.
type namedWindows struct {
	passThrough
	schema schemaColumns // the app's tables, for derivedSubqueries
}

// newNamedWindows rewrites statements over the app's tables.
func newNamedWindows(tables []*memdb.Table) namedWindows {
	schema := schemaColumns{}
	for _, t := range tables {
		cols := map[string]bool{}
		for _, c := range t.Columns() {
			cols[strings.ToLower(c.Name)] = true
		}
		schema[strings.ToLower(t.Name())] = cols
	}
	return namedWindows{schema: schema}
}

var _ server.Interceptor = namedWindows{}

// Priority: inside the read-only guard and its limits, which see the text
// the client sent.
func (namedWindows) Priority() int { return 2 }

// rewriteStatement is query in the form GMS runs with MySQL's answer, or
// plans well: WITH ROLLUP as a union (rollupUnion), named windows inlined,
// window functions over a grouped query's aggregates over it as a derived
// table (groupedWindows), ordered window aggregates with their default
// frame (rangeFrames),
// scalar subqueries of grouped SELECTs added to the GROUP BY
// (groupedSubqueries), grouped IN subqueries as derived tables
// (derivedSubqueries), what every branch of an OR holds taken out of it
// (commonConjuncts). Anything else passes untouched, and so does what a
// rewrite cannot handle (GMS then reports it).
func rewriteStatement(query string, stmt sqlparser.Statement, schema schemaColumns) string {
	if containsFold(query, "rollup") {
		if q, ok := rollupUnion(query); ok {
			query, stmt = q, nil
		}
	}
	query = inlineWindows(query, stmt)
	if containsFold(query, "over") {
		if containsFold(query, "group") {
			if q, ok := groupedWindows(query); ok {
				query = q
			}
		}
		query = rangeFrames(query)
	}
	subqueries := containsFold(query, "select", 2) && (containsFold(query, "group") || containsFold(query, "limit") || containsFold(query, "distinct"))
	if !subqueries && !orWord.MatchString(query) {
		return query
	}
	parsed, err := sqlparser.Parse(query)
	if err != nil {
		return query
	}
	changed, derived := false, 0
	var root sqlparser.SQLNode = parsed
	if e, ok := parsed.(*sqlparser.Explain); ok {
		root = e.Statement // EXPLAIN shows the plan of what runs
	}
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if s, ok := n.(*sqlparser.Select); ok {
			// Both: a statement can hold both kinds of subquery.
			grouped := groupedSubqueries(s)
			wrapped := derivedSubqueries(s, schema, &derived)
			factored := commonConjuncts(s)
			changed = changed || grouped || wrapped || factored
		}
		return true, nil
	}, root)
	if !changed {
		return query
	}
	return sqlparser.String(parsed)
}

// inlineWindows is query with its named windows inlined, or query itself.
func inlineWindows(query string, stmt sqlparser.Statement) string {
	if !containsFold(query, "window") {
		return query
	}
	if stmt == nil {
		var err error
		if stmt, err = sqlparser.Parse(query); err != nil {
			return query
		}
	}
	var selects []*sqlparser.Select
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if s, ok := n.(*sqlparser.Select); ok && len(s.Window) > 0 {
			selects = append(selects, s)
		}
		return true, nil
	}, stmt)
	if len(selects) == 0 {
		return query
	}
	// Inner SELECTs first: a subquery's own WINDOW clause shadows an outer one.
	for i := len(selects) - 1; i >= 0; i-- {
		if !inlineSelectWindows(selects[i]) {
			return query
		}
	}
	return sqlparser.String(stmt)
}

// inlineSelectWindows inlines s's WINDOW clause into its OVER clauses and
// drops the clause; false if a window is unknown (GMS then reports it).
func inlineSelectWindows(s *sqlparser.Select) bool {
	defs := map[string]*sqlparser.WindowDef{}
	for _, w := range s.Window {
		defs[w.Name.Lowered()] = w
	}
	ok := true
	var resolve func(w sqlparser.WindowDef, depth int) sqlparser.WindowDef
	resolve = func(w sqlparser.WindowDef, depth int) sqlparser.WindowDef {
		if w.NameRef.IsEmpty() {
			return w
		}
		base, found := defs[w.NameRef.Lowered()]
		if !found || depth > len(defs) {
			ok = false
			return w
		}
		b := resolve(*base, depth+1)
		out := sqlparser.WindowDef{PartitionBy: b.PartitionBy, OrderBy: b.OrderBy, Frame: b.Frame}
		if len(w.PartitionBy) > 0 {
			out.PartitionBy = w.PartitionBy
		}
		if len(w.OrderBy) > 0 {
			out.OrderBy = w.OrderBy
		}
		if w.Frame != nil {
			out.Frame = w.Frame
		}
		return out
	}
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch n := n.(type) {
		case *sqlparser.Subquery:
			return false, nil // its own windows (done first)
		case *sqlparser.FuncExpr:
			if n.Over != nil && !n.Over.NameRef.IsEmpty() {
				w := resolve(sqlparser.WindowDef(*n.Over), 0)
				over := sqlparser.Over(w)
				n.Over = &over
			}
		}
		return true, nil
	}, s.SelectExprs, s.Having, s.OrderBy)
	if ok {
		s.Window = nil
	}
	return ok
}

// containsFold tells whether s holds sub (lower case) at least n times
// (default once), ignoring case.
func containsFold(s, sub string, n ...int) bool {
	want := 1
	if len(n) > 0 {
		want = n[0]
	}
	return strings.Count(strings.ToLower(s), sub) >= want
}

func (w namedWindows) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	return chain.ComQuery(ctx, c, rewriteStatement(query, nil, w.schema), callback)
}

func (w namedWindows) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, parsed sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return chain.ComQuery(context.Background(), c, rewriteStatement(query, parsed, w.schema), callback)
}

func (w namedWindows) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	if q := rewriteStatement(query, nil, w.schema); q != query {
		query = q
		prepare.PrepareStmt = q
	}
	return chain.ComPrepare(ctx, c, query, prepare)
}

// rangeFrames gives every aggregate over an ordered window without a frame
// MySQL's default frame written out, RANGE BETWEEN UNBOUNDED PRECEDING AND
// CURRENT ROW: GMS's default frame stops at the current row, leaving out
// its peers (rows with the same ORDER BY values), so a running SUM over
// ties was wrong; its explicit RANGE frame includes them.
func rangeFrames(query string) string {
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return query
	}
	changed := false
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		f, ok := n.(*sqlparser.FuncExpr)
		if ok && f.Over != nil && f.Over.NameRef.IsEmpty() && len(f.Over.OrderBy) > 0 && f.Over.Frame == nil && isAggregateName(f.Name.Lowered()) {
			f.Over.Frame = &sqlparser.Frame{Unit: sqlparser.RangeUnit, Extent: &sqlparser.FrameExtent{
				Start: &sqlparser.FrameBound{Type: sqlparser.UnboundedPreceding},
				End:   &sqlparser.FrameBound{Type: sqlparser.CurrentRow},
			}}
			changed = true
		}
		return true, nil
	}, stmt)
	if !changed {
		return query
	}
	return sqlparser.String(stmt)
}
