package sql

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// Rewrites of statements GMS refuses although MySQL runs them, into forms
// it runs with MySQL's answers (namedWindows applies them with inlineWindows).

var withRollup = regexp.MustCompile(`(?i)\bWITH\s+ROLLUP\b`)

// rollupUnion rewrites SELECT ... GROUP BY g1, ..., gn WITH ROLLUP, which
// GMS's parser refuses, into the UNION ALL of the grouping by g1..gn, by
// g1..gn-1, ..., and the grand total, the dropped columns NULL where the
// SELECT list shows them (also as a function's argument, as in
// COALESCE(g, 'all')), as MySQL's super-aggregate rows hold NULL. The
// statement's ORDER BY and LIMIT apply to the union. ok is false when the
// statement is not one SELECT with one WITH ROLLUP.
func rollupUnion(query string) (string, bool) {
	if len(withRollup.FindAllStringIndex(query, 2)) != 1 {
		return "", false
	}
	plain := withRollup.ReplaceAllString(query, "")
	parse := func() *sqlparser.Select {
		stmt, err := sqlparser.Parse(plain)
		if err != nil {
			return nil
		}
		sel, _ := stmt.(*sqlparser.Select)
		if sel == nil || len(sel.GroupBy) == 0 || sel.With != nil || sel.Into != nil {
			return nil
		}
		return sel
	}
	first := parse()
	if first == nil {
		return "", false
	}
	orderBy, limit := first.OrderBy, first.Limit
	var branches []string
	for k := len(first.GroupBy); k >= 0; k-- {
		sel := parse()
		dropped := map[string]bool{}
		for _, g := range sel.GroupBy[k:] {
			dropped[sqlparser.String(g)] = true
		}
		if k == 0 {
			sel.GroupBy = nil
		} else {
			sel.GroupBy = sel.GroupBy[:k]
		}
		sel.OrderBy, sel.Limit = nil, nil
		for _, se := range sel.SelectExprs {
			if ae, ok := se.(*sqlparser.AliasedExpr); ok {
				ae.Expr = nullDropped(ae.Expr, dropped)
			}
		}
		branches = append(branches, "("+sqlparser.String(sel)+")")
	}
	out := strings.Join(branches, " union all ")
	if len(orderBy) > 0 {
		out += sqlparser.String(orderBy)
	}
	if limit != nil {
		out += sqlparser.String(limit)
	}
	return out, true
}

// nullDropped is e with the grouped expressions a rollup level drops
// replaced by NULL, at the top or as a function's argument.
func nullDropped(e sqlparser.Expr, dropped map[string]bool) sqlparser.Expr {
	if dropped[sqlparser.String(e)] {
		return &sqlparser.NullVal{}
	}
	if f, ok := e.(*sqlparser.FuncExpr); ok && f.Over == nil && !isAggregateName(f.Name.Lowered()) {
		for _, a := range f.Exprs {
			if ae, ok := a.(*sqlparser.AliasedExpr); ok {
				ae.Expr = nullDropped(ae.Expr, dropped)
			}
		}
	}
	return e
}

func isAggregateName(name string) bool {
	switch name {
	case "avg", "bit_and", "bit_or", "bit_xor", "count", "group_concat", "json_arrayagg", "json_objectagg",
		"max", "min", "std", "stddev_pop", "stddev_samp", "stddev", "sum", "var_pop", "var_samp", "variance", "any_value":
		return true
	}
	return false
}

// groupedSubqueries adds the non-correlated scalar subqueries of a grouped
// SELECT's select list that stand outside any aggregate to its GROUP BY:
// their value is the same for every row, so grouping by them changes no
// group, and MySQL accepts them under ONLY_FULL_GROUP_BY while GMS refuses
// them as ungrouped columns (wrapping them in ANY_VALUE confuses GMS's
// planner when the subquery's aggregate is also the outer one's). A
// subquery that names a table of the outer FROM is left alone.
func groupedSubqueries(sel *sqlparser.Select) bool {
	if len(sel.GroupBy) == 0 {
		return false
	}
	outer := map[string]bool{}
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch n := n.(type) {
		case *sqlparser.Subquery:
			return false, nil
		case *sqlparser.AliasedTableExpr:
			if !n.As.IsEmpty() {
				outer[n.As.String()] = true
			}
			if tn, ok := n.Expr.(sqlparser.TableName); ok {
				outer[tn.Name.String()] = true
			}
		}
		return true, nil
	}, sel.From)
	changed := false
	var extra []sqlparser.Expr
	var wrap func(e sqlparser.Expr) sqlparser.Expr
	wrap = func(e sqlparser.Expr) sqlparser.Expr {
		switch x := e.(type) {
		case *sqlparser.Subquery:
			if correlated(x, outer) {
				return e
			}
			changed = true
			extra = append(extra, x)
			return e
		case *sqlparser.BinaryExpr:
			x.Left, x.Right = wrap(x.Left), wrap(x.Right)
		case *sqlparser.ParenExpr:
			x.Expr = wrap(x.Expr)
		case *sqlparser.UnaryExpr:
			x.Expr = wrap(x.Expr)
		case *sqlparser.ComparisonExpr:
			x.Left, x.Right = wrap(x.Left), wrap(x.Right)
		case *sqlparser.FuncExpr:
			if x.Over != nil || isAggregateName(x.Name.Lowered()) {
				return e
			}
			for _, a := range x.Exprs {
				if ae, ok := a.(*sqlparser.AliasedExpr); ok {
					ae.Expr = wrap(ae.Expr)
				}
			}
		}
		return e
	}
	for _, se := range sel.SelectExprs {
		if ae, ok := se.(*sqlparser.AliasedExpr); ok {
			ae.Expr = wrap(ae.Expr)
		}
	}
	for _, x := range extra {
		// A copy: the GROUP BY must not share nodes with the select list.
		if c, err := sqlparser.Parse("SELECT " + sqlparser.String(x)); err == nil {
			if ae, ok := c.(*sqlparser.Select).SelectExprs[0].(*sqlparser.AliasedExpr); ok {
				sel.GroupBy = append(sel.GroupBy, ae.Expr)
			}
		}
	}
	return changed
}

// correlated tells whether sq names a column of a table in outer that its
// own FROM clauses do not define.
func correlated(sq *sqlparser.Subquery, outer map[string]bool) bool {
	inner := map[string]bool{}
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if t, ok := n.(*sqlparser.AliasedTableExpr); ok {
			if !t.As.IsEmpty() {
				inner[t.As.String()] = true
			}
			if tn, ok := t.Expr.(sqlparser.TableName); ok {
				inner[tn.Name.String()] = true
			}
		}
		return true, nil
	}, sq)
	found := false
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if c, ok := n.(*sqlparser.ColName); ok {
			q := c.Qualifier.Name.String()
			if q != "" && outer[q] && !inner[q] {
				found = true
			}
		}
		return !found, nil
	}, sq)
	return found
}

// schemaColumns is the lower-case column names of each app table, by
// lower-case table name: what derivedSubqueries needs to tell whether a
// subquery's unqualified column is its own.
type schemaColumns map[string]map[string]bool

// derivedSubqueries makes each non-correlated `x IN (SELECT ...)` (and
// `x = (SELECT ... LIMIT 1)`) in sel's WHERE whose SELECT groups, orders
// with a LIMIT or is DISTINCT a derived table, `x IN (SELECT * FROM
// (SELECT ...) AS imago_in_n)`: the same rows. GMS turns such a subquery
// into a semi join, but its join planner cannot reorder a join holding
// GROUP BY or TOP-N and then leaves the whole join tree nested loops in
// the order written: TPC-H's q18 joined customer, orders and lineitem row
// by row and did not end within two minutes. A derived table is a leaf it
// plans. A subquery naming a column of the outer query (qualified by an
// outer table or unqualified and no column of its own tables), or
// reading anything but the app's tables, is left alone.
func derivedSubqueries(sel *sqlparser.Select, schema schemaColumns, n *int) bool {
	if sel.Where == nil || len(schema) == 0 {
		return false
	}
	changed := false
	sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
		switch x := node.(type) {
		case *sqlparser.Subquery:
			return false, nil // its own WHERE is its own Select's
		case *sqlparser.ComparisonExpr:
			sq, ok := x.Right.(*sqlparser.Subquery)
			if !ok {
				return true, nil
			}
			inner, ok := sq.Select.(*sqlparser.Select)
			if !ok || !wantsDerived(inner, x.Operator) || !selfContainedSelect(inner, schema) {
				return true, nil
			}
			col := derivedColumn(inner)
			if col == "" {
				return true, nil
			}
			*n++
			// The column by name: GMS flattens `SELECT * FROM (...)` back
			// into the subquery.
			wrapped, err := sqlparser.Parse(fmt.Sprintf("SELECT imago_in_%d.`%s` FROM (%s) AS imago_in_%d", *n, col, sqlparser.String(inner), *n))
			if err != nil {
				return true, nil
			}
			sq.Select = wrapped.(*sqlparser.Select)
			changed = true
		}
		return true, nil
	}, sel.Where)
	return changed
}

// derivedColumn is the name of s's one column, naming it when it is an
// unnamed expression; "" if it cannot be named.
func derivedColumn(s *sqlparser.Select) string {
	ae, ok := s.SelectExprs[0].(*sqlparser.AliasedExpr)
	switch {
	case !ok:
		return ""
	case !ae.As.IsEmpty():
		return strings.ReplaceAll(ae.As.String(), "`", "")
	}
	if c, ok := ae.Expr.(*sqlparser.ColName); ok {
		return strings.ReplaceAll(c.Name.String(), "`", "")
	}
	ae.As = sqlparser.NewColIdent("imago_v")
	return "imago_v"
}

// wantsDerived tells whether a subquery compared by op is one GMS makes a
// semi join it cannot plan: IN over a grouped, DISTINCT or limited SELECT,
// or = with one of LIMIT 1 (which is what lets GMS make it a semi join;
// without it, = must still fail on a second row, as MySQL's does).
func wantsDerived(s *sqlparser.Select, op string) bool {
	if s.With != nil || s.Into != nil || len(s.SelectExprs) != 1 || len(s.Window) > 0 {
		return false
	}
	complex := len(s.GroupBy) > 0 || s.Having != nil || s.QueryOpts.Distinct || s.Limit != nil
	switch strings.ToLower(op) {
	case sqlparser.InStr:
		return complex
	case sqlparser.EqualStr:
		if s.Limit == nil || s.Limit.Offset != nil {
			return false
		}
		v, ok := s.Limit.Rowcount.(*sqlparser.SQLVal)
		return ok && string(v.Val) == "1" && complex
	}
	return false
}

// selfContainedSelect tells whether every column s (and the subqueries in
// it) reads belongs to a table s reads itself, and every table it reads is
// an app table.
func selfContainedSelect(s *sqlparser.Select, schema schemaColumns) bool {
	aliases := map[string]bool{}
	columns := map[string]bool{}
	ok := true
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		t, isTable := n.(*sqlparser.AliasedTableExpr)
		if !isTable {
			return true, nil
		}
		tn, plain := t.Expr.(sqlparser.TableName)
		cols := schema[strings.ToLower(tn.Name.String())]
		if !plain || !tn.DbQualifier.IsEmpty() || !tn.SchemaQualifier.IsEmpty() || cols == nil {
			ok = false
			return false, nil
		}
		aliases[strings.ToLower(tn.Name.String())] = true
		if !t.As.IsEmpty() {
			aliases[strings.ToLower(t.As.String())] = true
		}
		for c := range cols {
			columns[c] = true
		}
		return true, nil
	}, s)
	if !ok {
		return false
	}
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		c, isCol := n.(*sqlparser.ColName)
		if !isCol || !ok {
			return ok, nil
		}
		switch q := c.Qualifier; {
		case !q.DbQualifier.IsEmpty() || !q.SchemaQualifier.IsEmpty():
			ok = false
		case !q.Name.IsEmpty():
			ok = aliases[strings.ToLower(q.Name.String())]
		default:
			ok = columns[c.Name.Lowered()]
		}
		return ok, nil
	}, s)
	return ok
}

var orWord = regexp.MustCompile(`(?i)\bOR\b`)

// commonConjuncts takes the conditions every branch of an OR in sel's WHERE
// (the whole WHERE, or one of its AND-ed conditions) holds out of the OR:
// (a AND b) OR (a AND c) is a AND (b OR c), in SQL's three-valued logic
// too. GMS finds no join condition inside an OR, so TPC-H's q19, whose
// three branches each hold p_partkey = l_partkey, joined lineitem and
// part through three index lookups per part and filtered the OR on every
// pair (6.7 s at SF 0.01, MariaDB 11 ms).
func commonConjuncts(sel *sqlparser.Select) bool {
	if sel.Where == nil {
		return false
	}
	changed := false
	var conds []sqlparser.Expr
	for _, c := range conjuncts(sel.Where.Expr) {
		if f, ok := factorOr(c); ok {
			c, changed = f, true
		}
		conds = append(conds, c)
	}
	if changed {
		sel.Where.Expr = andOf(conds)
	}
	return changed
}

// factorOr is e, an OR, with the conditions all its branches hold taken out.
func factorOr(e sqlparser.Expr) (sqlparser.Expr, bool) {
	branches := disjuncts(e)
	if len(branches) < 2 {
		return e, false
	}
	parts := make([][]sqlparser.Expr, len(branches))
	count := map[string]int{}
	for i, b := range branches {
		parts[i] = conjuncts(b)
		seen := map[string]bool{}
		for _, c := range parts[i] {
			if k := sqlparser.String(c); !seen[k] {
				seen[k] = true
				count[k]++
			}
		}
	}
	var common []sqlparser.Expr
	taken := map[string]bool{}
	for _, c := range parts[0] {
		if k := sqlparser.String(c); count[k] == len(branches) && !taken[k] {
			taken[k] = true
			common = append(common, c)
		}
	}
	if len(common) == 0 {
		return e, false
	}
	var rest []sqlparser.Expr
	for _, p := range parts {
		var left []sqlparser.Expr
		for _, c := range p {
			if !taken[sqlparser.String(c)] {
				left = append(left, c)
			}
		}
		if len(left) == 0 {
			// This branch holds only the common conditions: the OR is true
			// whenever they are.
			return andOf(common), true
		}
		rest = append(rest, &sqlparser.ParenExpr{Expr: andOf(left)})
	}
	or := rest[0]
	for _, r := range rest[1:] {
		or = &sqlparser.OrExpr{Left: or, Right: r}
	}
	return andOf(append(common, &sqlparser.ParenExpr{Expr: or})), true
}

func conjuncts(e sqlparser.Expr) []sqlparser.Expr {
	switch x := e.(type) {
	case *sqlparser.AndExpr:
		return append(conjuncts(x.Left), conjuncts(x.Right)...)
	case *sqlparser.ParenExpr:
		if _, or := x.Expr.(*sqlparser.OrExpr); !or {
			return conjuncts(x.Expr)
		}
	}
	return []sqlparser.Expr{e}
}

func disjuncts(e sqlparser.Expr) []sqlparser.Expr {
	switch x := e.(type) {
	case *sqlparser.OrExpr:
		return append(disjuncts(x.Left), disjuncts(x.Right)...)
	case *sqlparser.ParenExpr:
		if _, ok := x.Expr.(*sqlparser.OrExpr); ok {
			return disjuncts(x.Expr)
		}
	}
	return []sqlparser.Expr{e}
}

func andOf(es []sqlparser.Expr) sqlparser.Expr {
	out := es[0]
	for _, e := range es[1:] {
		out = &sqlparser.AndExpr{Left: out, Right: e}
	}
	return out
}

// groupedWindows rewrites a grouped SELECT whose window functions read its
// aggregates (RANK() OVER (ORDER BY COUNT(*) DESC), SUM(SUM(x)) OVER ()),
// which GMS refuses (1140), into the window functions over the grouped
// query as a derived table: the inner SELECT computes the grouped
// expressions and aggregates, the outer one the select list and ORDER BY
// from them, with the same column names. ok is false when the statement
// is not one such SELECT or the select list reads a column that is not
// grouped (GMS then reports it).
func groupedWindows(query string) (string, bool) {
	parse := func() *sqlparser.Select {
		stmt, err := sqlparser.Parse(query)
		if err != nil {
			return nil
		}
		sel, _ := stmt.(*sqlparser.Select)
		if sel == nil || len(sel.GroupBy) == 0 || sel.Into != nil || len(sel.Window) > 0 {
			return nil
		}
		return sel
	}
	outer := parse()
	if outer == nil || !windowOverAggregate(outer.SelectExprs) {
		return "", false
	}
	inner := parse()
	refs := map[string]string{} // expression text -> inner column
	var innerExprs sqlparser.SelectExprs
	for i, g := range inner.GroupBy {
		name := fmt.Sprintf("imago_g%d", i)
		refs[sqlparser.String(g)] = name
		innerExprs = append(innerExprs, &sqlparser.AliasedExpr{Expr: g, As: sqlparser.NewColIdent(name)})
	}
	replace := func(e sqlparser.Expr) sqlparser.Expr {
		return groupedRef(e, refs, func(agg sqlparser.Expr) string {
			name := fmt.Sprintf("imago_a%d", len(innerExprs))
			refs[sqlparser.String(agg)] = name
			innerExprs = append(innerExprs, &sqlparser.AliasedExpr{Expr: agg, As: sqlparser.NewColIdent(name)})
			return name
		})
	}
	aliases := map[string]bool{}
	for _, se := range outer.SelectExprs {
		ae, ok := se.(*sqlparser.AliasedExpr)
		if !ok {
			return "", false
		}
		if ae.As.IsEmpty() {
			if c, isCol := ae.Expr.(*sqlparser.ColName); isCol {
				ae.As = c.Name
			} else {
				ae.As = sqlparser.NewColIdent(sqlparser.String(ae.Expr))
			}
		}
		aliases[ae.As.Lowered()] = true
		ae.Expr = replace(ae.Expr)
	}
	for _, o := range outer.OrderBy {
		if c, isCol := o.Expr.(*sqlparser.ColName); isCol && c.Qualifier.IsEmpty() && aliases[c.Name.Lowered()] {
			continue
		}
		o.Expr = replace(o.Expr)
	}
	if readsUngrouped(outer.SelectExprs, nil) || readsUngrouped(outer.OrderBy, aliases) {
		return "", false
	}
	inner.SelectExprs, inner.OrderBy, inner.Limit, inner.With = innerExprs, nil, nil, nil
	derived, err := sqlparser.Parse("SELECT 1 FROM (" + sqlparser.String(inner) + ") AS imago_grouped")
	if err != nil {
		return "", false
	}
	outer.From = derived.(*sqlparser.Select).From
	outer.Where, outer.GroupBy, outer.Having = nil, nil, nil
	return sqlparser.String(outer), true
}

// windowOverAggregate tells whether a window function of exprs reads an
// aggregate.
func windowOverAggregate(exprs sqlparser.SelectExprs) bool {
	found := false
	sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if f, ok := n.(*sqlparser.FuncExpr); ok && f.Over != nil {
			sqlparser.Walk(func(m sqlparser.SQLNode) (bool, error) {
				if g, ok := m.(*sqlparser.FuncExpr); ok && g != f && g.Over == nil && isAggregateName(g.Name.Lowered()) {
					found = true
				}
				return !found, nil
			}, f.Exprs, f.Over.PartitionBy, f.Over.OrderBy)
		}
		return !found, nil
	}, exprs)
	return found
}

// groupedRef is e with each grouped expression and each aggregate outside
// a window replaced by its column of the derived table imago_grouped
// (added names a new aggregate's).
func groupedRef(e sqlparser.Expr, refs map[string]string, added func(sqlparser.Expr) string) sqlparser.Expr {
	col := func(name string) sqlparser.Expr {
		return &sqlparser.ColName{Name: sqlparser.NewColIdent(name), Qualifier: sqlparser.TableName{Name: sqlparser.NewTableIdent("imago_grouped")}}
	}
	if name, ok := refs[sqlparser.String(e)]; ok {
		return col(name)
	}
	rec := func(x sqlparser.Expr) sqlparser.Expr { return groupedRef(x, refs, added) }
	switch x := e.(type) {
	case *sqlparser.FuncExpr:
		if x.Over == nil && isAggregateName(x.Name.Lowered()) {
			return col(added(x))
		}
		for _, a := range x.Exprs {
			if ae, ok := a.(*sqlparser.AliasedExpr); ok {
				ae.Expr = rec(ae.Expr)
			}
		}
		if x.Over != nil {
			for i, p := range x.Over.PartitionBy {
				x.Over.PartitionBy[i] = rec(p)
			}
			for _, o := range x.Over.OrderBy {
				o.Expr = rec(o.Expr)
			}
		}
	case *sqlparser.BinaryExpr:
		x.Left, x.Right = rec(x.Left), rec(x.Right)
	case *sqlparser.ParenExpr:
		x.Expr = rec(x.Expr)
	case *sqlparser.UnaryExpr:
		x.Expr = rec(x.Expr)
	case *sqlparser.ComparisonExpr:
		x.Left, x.Right = rec(x.Left), rec(x.Right)
	case *sqlparser.AndExpr:
		x.Left, x.Right = rec(x.Left), rec(x.Right)
	case *sqlparser.OrExpr:
		x.Left, x.Right = rec(x.Left), rec(x.Right)
	case *sqlparser.NotExpr:
		x.Expr = rec(x.Expr)
	case *sqlparser.CaseExpr:
		if x.Expr != nil {
			x.Expr = rec(x.Expr)
		}
		for _, w := range x.Whens {
			w.Cond, w.Val = rec(w.Cond), rec(w.Val)
		}
		if x.Else != nil {
			x.Else = rec(x.Else)
		}
	case *sqlparser.ConvertExpr:
		x.Expr = rec(x.Expr)
	}
	return e
}

// readsUngrouped tells whether n still reads a column other than the
// derived table's or one of aliases (the select list's, for ORDER BY).
func readsUngrouped(n sqlparser.SQLNode, aliases map[string]bool) bool {
	found := false
	visit := func(n sqlparser.SQLNode) (bool, error) {
		switch x := n.(type) {
		case *sqlparser.Subquery:
			found = true
		case *sqlparser.ColName:
			q := x.Qualifier.Name.String()
			if q != "imago_grouped" && !(q == "" && aliases[x.Name.Lowered()]) {
				found = true
			}
		}
		return !found, nil
	}
	sqlparser.Walk(visit, n)
	return found
}
