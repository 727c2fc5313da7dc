package sql

import (
	"fmt"
	"math"
	"math/big"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

// intSum is SUM of an integer expression as GMS answers it (the exact
// DECIMAL sum, see exactAggregates), added in an int64 while it fits, in
// Imago's read plans and in grouped queries. GMS's buffer converts each
// value to a DECIMAL(65) and adds those: measured under sysbench's
// oltp_read_only, SUM(k) over 100 rows was 11% of the server's CPU and 13
// allocations a row, and 28% of the CPU of 50 clients running grouped
// analytic queries, most of it that conversion (math/big).
//
// The embedded Sum keeps GMS's exact SUM for everything but the buffer: its
// type, name and id, and its window form (a rule that rebuilds the
// expression gets GMS's Sum back, slower and the same).
type intSum struct {
	*aggregation.Sum                 // SUM(CAST(arg AS DECIMAL(65, 0)))
	arg              gsql.Expression // the integer argument
}

// WithChildren keeps the int64 buffer across the analyzer's rebuilds (GMS
// assigns execution indexes after Imago's rules, rebuilding every
// expression whose column reference moved): the child is the DECIMAL cast
// of the argument.
func (a *intSum) WithChildren(ctx *gsql.Context, children ...gsql.Expression) (gsql.Expression, error) {
	sum, err := a.Sum.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	cast, ok := children[0].(*expression.Convert)
	if !ok {
		return sum, nil
	}
	return withIntSum(ctx, sum, cast.Child), nil
}

// WithId keeps the int64 buffer when the analyzer numbers the aggregate.
func (a *intSum) WithId(id gsql.ColumnId) gsql.IdExpression {
	sum, ok := a.Sum.WithId(id).(*aggregation.Sum)
	if !ok {
		return a.Sum.WithId(id)
	}
	return &intSum{Sum: sum, arg: a.arg}
}

func (a *intSum) NewBuffer(*gsql.Context) (gsql.AggregationBuffer, error) {
	return &intSumBuffer{arg: a.arg}, nil
}

// intSumBuffer adds an expression's values: in sum until a value or the
// total leaves int64, from then on in the DECIMAL wide.
type intSumBuffer struct {
	arg  gsql.Expression
	sum  int64
	wide *decimal.Decimal // the total once it left int64
	n    int64            // the non-NULL values added
}

func (b *intSumBuffer) Update(ctx *gsql.Context, row gsql.Row) error {
	v, err := b.arg.Eval(ctx, row)
	if err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	b.n++
	var x int64
	switch v := v.(type) {
	case int8:
		x = int64(v)
	case int16:
		x = int64(v)
	case int32:
		x = int64(v)
	case int64:
		x = v
	case int:
		x = int64(v)
	case uint8:
		x = int64(v)
	case uint16:
		x = int64(v)
	case uint32:
		x = int64(v)
	case uint64:
		if v > math.MaxInt64 {
			b.addWide(decimal.NewFromBigInt(new(big.Int).SetUint64(v), 0))
			return nil
		}
		x = int64(v)
	default:
		return fmt.Errorf("SUM(%s): unexpected %T from an integer expression", b.arg, v)
	}
	if b.wide == nil {
		if s := b.sum + x; (s > b.sum) == (x > 0) || x == 0 {
			b.sum = s
			return nil
		}
	}
	b.addWide(decimal.NewFromInt(x))
	return nil
}

func (b *intSumBuffer) addWide(d decimal.Decimal) {
	if b.wide == nil {
		w := decimal.NewFromInt(b.sum)
		b.wide = &w
	}
	*b.wide = b.wide.Add(d)
}

func (b *intSumBuffer) Eval(*gsql.Context) (any, error) {
	switch {
	case b.n == 0:
		return nil, nil
	case b.wide != nil:
		return *b.wide, nil
	}
	return decimal.NewFromInt(b.sum), nil
}

func (b *intSumBuffer) Dispose(*gsql.Context) {}

// intAvg is AVG of an integer expression as GMS answers it (the exact
// DECIMAL average, see exactAggregates), summed in an int64 while it fits:
// GMS casts every value to a DECIMAL(65, 4) and adds those, which was 56% of
// the CPU of 20 clients running a grouped SUM and AVG over 20,000 orders once
// SUM took intSum. The total is cast once at the end, so the average has
// GMS's scale and rounding (avgBuffer.Eval).
type intAvg struct {
	*aggregation.Avg                 // AVG(CAST(arg AS DECIMAL(65, 4)))
	arg              gsql.Expression // the integer argument
	cast             gsql.Type       // the DECIMAL each value was cast to
}

// WithChildren and WithId keep the int64 buffer, as intSum's do.
func (a *intAvg) WithChildren(ctx *gsql.Context, children ...gsql.Expression) (gsql.Expression, error) {
	avg, err := a.Avg.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return withIntAvg(ctx, avg), nil
}

func (a *intAvg) WithId(id gsql.ColumnId) gsql.IdExpression {
	avg, ok := a.Avg.WithId(id).(*aggregation.Avg)
	if !ok {
		return a.Avg.WithId(id)
	}
	return &intAvg{Avg: avg, arg: a.arg, cast: a.cast}
}

func (a *intAvg) NewBuffer(*gsql.Context) (gsql.AggregationBuffer, error) {
	return &intAvgBuffer{sum: intSumBuffer{arg: a.arg}, cast: a.cast}, nil
}

// withIntAvg gives avg, AVG of a DECIMAL cast, the int64 buffer when the
// cast's argument is an integer expression (not DISTINCT).
func withIntAvg(ctx *gsql.Context, avg gsql.Expression) gsql.Expression {
	a, ok := avg.(*aggregation.Avg)
	if !ok {
		return avg
	}
	cast, ok := a.Child.(*expression.Convert)
	if !ok || !types.IsInteger(cast.Child.Type(ctx)) {
		return avg
	}
	if _, distinct := cast.Child.(*expression.DistinctExpression); distinct {
		return avg
	}
	return &intAvg{Avg: a, arg: cast.Child, cast: cast.Type(ctx)}
}

type intAvgBuffer struct {
	sum  intSumBuffer
	cast gsql.Type
}

func (b *intAvgBuffer) Update(ctx *gsql.Context, row gsql.Row) error { return b.sum.Update(ctx, row) }

func (b *intAvgBuffer) Eval(ctx *gsql.Context) (any, error) {
	total, err := b.sum.Eval(ctx)
	if err != nil || total == nil {
		return nil, err
	}
	v, _, err := b.cast.Convert(ctx, total)
	if err != nil {
		return nil, fmt.Errorf("AVG(%s): %w", b.sum.arg, err)
	}
	s, ok := v.(decimal.Decimal)
	if !ok {
		return nil, fmt.Errorf("AVG(%s): the cast gave %T", b.sum.arg, v)
	}
	return s.DivRound(decimal.NewFromInt(b.sum.n), -s.Exponent()+4), nil
}

func (b *intAvgBuffer) Dispose(*gsql.Context) {}
