package sql

import (
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/memo"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"
)

// Join plans: what Imago tells go-mysql-server's planner (GMS) about the
// cost of its plans, and the plans it mends after GMS has chosen. Each
// found by sql/difftest and TPC-H against MariaDB.

// GMS's cost factors (memo/coster.go), per row read.
const (
	seqIOCost  = 1
	randIOCost = 1.3
)

// lookupCoster is GMS's coster, except that an index lookup join costs
// the rows its lookups read: its left rows times the rows one key of the
// index holds in the image (statsProvider.rowsPerKey). GMS costs every
// lookup join by the join's output estimate alone, the same for every
// index it could use, so on the demo shop `customers LEFT JOIN orders ON
// o.customer_id = c.customer_id AND o.status = 'shipped'` looked each
// customer up through the status index (11,000 rows a key on 20,000
// orders) instead of customer_id (10): 49-56 s against MariaDB's 25-40 ms.
type lookupCoster struct {
	memo.Coster
	stats *statsProvider
}

func (c lookupCoster) EstimateCost(ctx *gsql.Context, n memo.RelExpr, s gsql.StatsProvider) (float64, error) {
	cost, err := c.Coster.EstimateCost(ctx, n, s)
	lj, ok := n.(*memo.LookupJoin)
	if err != nil || !ok || lj.Lookup == nil || lj.Lookup.Index == nil {
		return cost, err
	}
	perKey, ok := c.stats.rowsPerKey(ctx, lj.Lookup.Index.SqlIdx(), len(lj.Lookup.Table.Expressions()))
	if !ok {
		return cost, nil
	}
	left := max(1, float64(lj.Left.RelProps.GetStats().RowCount()))
	return left*seqIOCost + left*perKey*(randIOCost+seqIOCost), nil
}

// hashSemiJoins turns a nested-loop semi or anti join whose right side does
// not depend on its left rows into a hash join: the right side runs once
// and each left row probes its rows by the join's equalities. GMS's join
// planner leaves a join as written when a side holds a node it cannot
// reorder (GROUP BY, ORDER BY ... LIMIT), and its nested loop then runs that
// side again for every left row: `customer_id = (SELECT customer_id FROM
// orders GROUP BY customer_id ORDER BY COUNT(*) DESC LIMIT 1)` grouped the
// orders once per order (5.4 s on 1,500 orders; 5 ms as a hash join), as
// did `IN (SELECT ... GROUP BY ... HAVING ...)`; TPC-H's q21 read lineitem
// whole for each of its rows in a NOT EXISTS.
func hashSemiJoins(ctx *gsql.Context, _ *analyzer.Analyzer, n gsql.Node, _ *plan.Scope, _ analyzer.RuleSelector, _ *gsql.QueryFlags) (gsql.Node, transform.TreeIdentity, error) {
	return transform.NodeWithOpaque(ctx, n, func(ctx *gsql.Context, n gsql.Node) (gsql.Node, transform.TreeIdentity, error) {
		out, same, err := transform.OneNodeExpressions(ctx, n, func(ctx *gsql.Context, e gsql.Expression) (gsql.Expression, transform.TreeIdentity, error) {
			sq, ok := e.(*plan.Subquery)
			if !ok {
				return e, transform.SameTree, nil
			}
			q, same, err := hashSemiJoins(ctx, nil, sq.Query, nil, nil, nil)
			if err != nil || same {
				return e, transform.SameTree, err
			}
			return sq.WithQuery(q), transform.NewTree, nil
		})
		if err != nil {
			return nil, same, err
		}
		j, ok := out.(*plan.JoinNode)
		if !ok {
			return out, same, nil
		}
		op, ok := hashOp(ctx, j)
		if !ok {
			return out, same, nil
		}
		h, ok := hashSemiJoin(ctx, j, op)
		if !ok {
			return out, same, nil
		}
		return h, transform.NewTree, nil
	})
}

// hashOp is the hash join of a nested-loop semi or anti join j. Each row
// its hash lookup finds is still checked against j's whole condition, and
// a row it does not find fails one of its equalities, so the answer is the
// same, except for NOT IN (JoinTypeAnti), where a right row whose
// condition is NULL excludes the left row: a row with a NULL key, which
// the lookup never finds. That one is only hashed when no column its
// condition reads can be NULL.
func hashOp(ctx *gsql.Context, j *plan.JoinNode) (plan.JoinType, bool) {
	switch j.Op {
	case plan.JoinTypeSemi:
		return plan.JoinTypeSemiHash, true
	case plan.JoinTypeAntiIncludeNulls:
		return plan.JoinTypeAntiHashIncludeNulls, true
	case plan.JoinTypeAnti:
		nullable := transform.InspectExpr(ctx, j.Filter, func(ctx *gsql.Context, e gsql.Expression) bool {
			_, sq := e.(*plan.Subquery)
			gf, ok := e.(*expression.GetField)
			return sq || ok && gf.IsNullable(ctx)
		})
		return plan.JoinTypeAntiHash, !nullable
	}
	return 0, false
}

// hashSemiJoin is j as the hash join op, if its right side reads nothing
// of its left and its condition holds an equality of a left expression and
// a right one (the whole condition still applies to each probed row).
func hashSemiJoin(ctx *gsql.Context, j *plan.JoinNode, op plan.JoinType) (gsql.Node, bool) {
	left, right := tablesOf(ctx, j.Left()), tablesOf(ctx, j.Right())
	if !selfContained(ctx, j.Right(), right) {
		return nil, false
	}
	var leftKeys, rightKeys []gsql.Expression
	for _, f := range expression.SplitConjunction(ctx, j.Filter) {
		eq, ok := f.(*expression.Equals)
		if !ok {
			continue
		}
		l, r := eq.Left(), eq.Right()
		switch {
		case within(ctx, l, left) && within(ctx, r, right):
		case within(ctx, r, left) && within(ctx, l, right):
			l, r = r, l
		default:
			continue
		}
		leftKeys, rightKeys = append(leftKeys, l), append(rightKeys, r)
	}
	if len(leftKeys) == 0 {
		return nil, false
	}
	lookup := plan.NewHashLookup(ctx, j.Right(), expression.Tuple(rightKeys), expression.Tuple(leftKeys), op)
	return plan.NewJoin(j.Left(), lookup, op, j.Filter).WithComment(j.Comment()), true
}

// tablesOf is the ids of the tables (and derived tables) n reads, in its
// subqueries too.
func tablesOf(ctx *gsql.Context, n gsql.Node) map[gsql.TableId]bool {
	ids := map[gsql.TableId]bool{}
	var visit func(n gsql.Node)
	visit = func(n gsql.Node) {
		transform.InspectWithOpaque(ctx, n, func(ctx *gsql.Context, n gsql.Node) bool {
			if t, ok := n.(plan.TableIdNode); ok {
				ids[t.Id()] = true
			}
			if ex, ok := n.(gsql.Expressioner); ok {
				for _, e := range ex.Expressions() {
					transform.InspectExpr(ctx, e, func(ctx *gsql.Context, e gsql.Expression) bool {
						if sq, ok := e.(*plan.Subquery); ok {
							visit(sq.Query)
						}
						return false
					})
				}
			}
			return true
		})
	}
	visit(n)
	return ids
}

// selfContained tells whether every column n reads, in its subqueries
// too, comes from a table of own.
func selfContained(ctx *gsql.Context, n gsql.Node, own map[gsql.TableId]bool) bool {
	ok := true
	var visit func(n gsql.Node)
	visit = func(n gsql.Node) {
		transform.InspectWithOpaque(ctx, n, func(ctx *gsql.Context, n gsql.Node) bool {
			if _, lateral := n.(*plan.SubqueryAlias); lateral && n.(*plan.SubqueryAlias).IsLateral {
				ok = false
			}
			if ex, isEx := n.(gsql.Expressioner); isEx {
				for _, e := range ex.Expressions() {
					transform.InspectExpr(ctx, e, func(ctx *gsql.Context, e gsql.Expression) bool {
						switch e := e.(type) {
						case *plan.Subquery:
							visit(e.Query)
						case *expression.GetField:
							// Id 0: a value computed below (an aggregate's), not a table's.
							ok = ok && (e.TableId() == 0 || own[e.TableId()])
						case *expression.BindVar, *expression.ProcedureParam:
							ok = false
						}
						return !ok
					})
				}
			}
			return ok
		})
	}
	visit(n)
	return ok
}

// within tells whether e reads columns, all of tables.
func within(ctx *gsql.Context, e gsql.Expression, tables map[gsql.TableId]bool) bool {
	some, all := false, true
	transform.InspectExpr(ctx, e, func(ctx *gsql.Context, e gsql.Expression) bool {
		switch e := e.(type) {
		case *plan.Subquery:
			all = false
		case *expression.GetField:
			some = true
			all = all && tables[e.TableId()]
		}
		return !all
	})
	return some && all
}
