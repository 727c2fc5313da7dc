package sql

import (
	"strings"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Analyzer rules of Imago's own, mending go-mysql-server's answers where
// they differ from MySQL's (each found by sql/difftest against MariaDB).

// newAnalyzer is GMS's default analyzer with Imago's rules after its own,
// the image's statistics and the coster that reads them (plans.go).
func newAnalyzer(pro gsql.DatabaseProvider) *analyzer.Analyzer {
	a := analyzer.NewBuilder(pro).
		AddPostAnalyzeRule(ruleExactAggregates, exactAggregates).
		AddPostAnalyzeRule(ruleHashSemiJoins, hashSemiJoins).
		Build()
	stats := newStatsProvider()
	a.Catalog.StatsProvider = stats
	a.Coster = lookupCoster{Coster: a.Coster, stats: stats}
	return a
}

// Rule ids of Imago's rules (past GMS's own).
const (
	ruleExactAggregates analyzer.RuleId = 10_000 + iota
	ruleHashSemiJoins
)

// exactAggregates gives SUM and AVG of exact values (integers, decimals)
// MySQL's result type, DECIMAL: SUM(x) is DECIMAL(65, scale of x), AVG(x)
// DECIMAL(65, scale of x + 4), in grouped queries and over windows. GMS sums
// them as DOUBLE (its planner types every SUM and AVG column Float64), and
// over a window it types them as the argument, so a window AVG of integers is
// rounded to an integer. The argument is cast to the DECIMAL first (GMS then
// sums exactly), and every column that refers to the aggregate, directly or
// through an alias or a derived table, gets its type.
func exactAggregates(ctx *gsql.Context, _ *analyzer.Analyzer, n gsql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *gsql.QueryFlags) (gsql.Node, transform.TreeIdentity, error) {
	f := &typeFixer{byId: map[gsql.ColumnId]gsql.Type{}, byName: map[string]gsql.Type{}}
	return f.node(ctx, n)
}

// typeFixer carries the corrected types of columns up the plan.
type typeFixer struct {
	byId   map[gsql.ColumnId]gsql.Type
	byName map[string]gsql.Type // "table.column" of derived tables
}

func (f *typeFixer) node(ctx *gsql.Context, n gsql.Node) (gsql.Node, transform.TreeIdentity, error) {
	return transform.NodeWithOpaque(ctx, n, func(ctx *gsql.Context, n gsql.Node) (gsql.Node, transform.TreeIdentity, error) {
		out, same, err := transform.OneNodeExpressions(ctx, n, f.expr)
		if err != nil {
			return nil, same, err
		}
		if sq, ok := out.(*plan.SubqueryAlias); ok {
			for _, c := range sq.Child.Schema(ctx) {
				if retyped(c.Type) {
					f.byName[strings.ToLower(sq.Name()+"."+c.Name)] = c.Type
				}
			}
		}
		return out, same, nil
	})
}

// exact gives the aggregate agg (SUM: extra 0, AVG: 4) over child an exact
// argument, so that it is DECIMAL as in MySQL, and records its new type.
func (f *typeFixer) exact(ctx *gsql.Context, agg, child gsql.Expression, id gsql.ColumnId, extra int) (gsql.Expression, transform.TreeIdentity, error) {
	arg, ok := exactArg(ctx, child, extra)
	if !ok {
		return agg, transform.SameTree, nil
	}
	out, err := agg.WithChildren(ctx, arg)
	if err != nil {
		return nil, transform.SameTree, err
	}
	f.byId[id] = out.Type(ctx)
	return out, transform.NewTree, nil
}

func (f *typeFixer) expr(ctx *gsql.Context, e gsql.Expression) (gsql.Expression, transform.TreeIdentity, error) {
	switch e := e.(type) {
	case *plan.Subquery:
		q, same, err := f.node(ctx, e.Query)
		if err != nil || same {
			return e, transform.SameTree, err
		}
		return e.WithQuery(q), transform.NewTree, nil
	case *aggregation.Sum:
		out, same, err := f.exact(ctx, e, e.Child, e.Id(), 0)
		if err != nil || same {
			return out, same, err
		}
		return withIntSum(ctx, out, e.Child), transform.NewTree, nil
	case *aggregation.Avg:
		out, same, err := f.exact(ctx, e, e.Child, e.Id(), 4)
		if err != nil || same {
			return out, same, err
		}
		return withIntAvg(ctx, out), transform.NewTree, nil
	case *expression.Arithmetic:
		return intervalArithmetic(ctx, e)
	case *expression.Alias:
		if t := e.Child.Type(ctx); retyped(t) && e.Id() != 0 {
			f.byId[e.Id()] = t
		}
	case gsql.Aggregation:
		// MIN, MAX, ... of a column whose type was corrected above.
		if t := e.Type(ctx); types.IsDecimal(t) && e.Id() != 0 {
			f.byId[e.Id()] = t
		}
	case *expression.GetField:
		t, ok := f.byId[e.Id()]
		if !ok || e.Id() == 0 {
			t, ok = f.byName[strings.ToLower(e.Table()+"."+e.Name())]
		}
		if !ok || t == e.Type(ctx) {
			return e, transform.SameTree, nil
		}
		gf := expression.NewGetFieldWithTable(e.Index(), int(e.TableId()), t, e.Database(), e.Table(), e.Name(), e.IsNullable(ctx))
		return gf.WithId(e.Id()), transform.NewTree, nil
	}
	return e, transform.SameTree, nil
}

// withIntSum gives sum, the exact SUM of arg, the buffer that adds
// integers in an int64 (intSum) when arg is an integer expression (not
// DISTINCT: GMS's Sum keeps the set of values seen).
func withIntSum(ctx *gsql.Context, sum, arg gsql.Expression) gsql.Expression {
	s, ok := sum.(*aggregation.Sum)
	if !ok || !types.IsInteger(arg.Type(ctx)) {
		return sum
	}
	if _, distinct := arg.(*expression.DistinctExpression); distinct {
		return sum
	}
	return &intSum{Sum: s, arg: arg}
}

// retyped tells the types this file's rules may give columns.
func retyped(t gsql.Type) bool { return types.IsDecimal(t) || types.IsTime(t) }

// intervalArithmetic turns x + INTERVAL n unit and x - INTERVAL n unit into
// DATE_ADD and DATE_SUB: GMS types the arithmetic DATETIME(0), which drops
// the microseconds (MySQL keeps x's precision), while its DATE_ADD and
// DATE_SUB keep them.
func intervalArithmetic(ctx *gsql.Context, a *expression.Arithmetic) (gsql.Expression, transform.TreeIdentity, error) {
	var (
		x    gsql.Expression
		iv   *expression.Interval
		make func(*gsql.Context, ...gsql.Expression) (gsql.Expression, error)
	)
	switch l, r := a.LeftChild, a.RightChild; {
	case a.Op == "+" && isInterval(r):
		x, iv, make = l, r.(*expression.Interval), function.NewDateAdd
	case a.Op == "+" && isInterval(l):
		x, iv, make = r, l.(*expression.Interval), function.NewDateAdd
	case a.Op == "-" && isInterval(r):
		x, iv, make = l, r.(*expression.Interval), function.NewDateSub
	default:
		return a, transform.SameTree, nil
	}
	out, err := make(ctx, x, iv)
	if err != nil {
		return nil, transform.SameTree, err
	}
	return out, transform.NewTree, nil
}

func isInterval(e gsql.Expression) bool {
	_, ok := e.(*expression.Interval)
	return ok
}

// exactArg casts an aggregate's exact argument to DECIMAL(65, its scale +
// extra); ok is false when the argument is not exact or already cast.
func exactArg(ctx *gsql.Context, arg gsql.Expression, extra int) (gsql.Expression, bool) {
	if _, cast := arg.(*expression.Convert); cast {
		return nil, false
	}
	t := arg.Type(ctx)
	scale := 0
	switch {
	case types.IsInteger(t) || types.IsBit(t) || types.IsYear(t):
	case types.IsDecimal(t):
		scale = int(t.(gsql.DecimalType).Scale())
	default:
		return nil, false
	}
	return expression.NewConvertWithLengthAndScale(arg, expression.ConvertToDecimal, 65, min(scale+extra, 30)), true
}
