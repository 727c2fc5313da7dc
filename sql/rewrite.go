package sql

import (
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
