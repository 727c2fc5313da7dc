package sql

import (
	"fmt"
	"math"
	"testing"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// TestIntSumIsGMSSum: the int64 SUM gives GMS's exact SUM, past int64's
// range and with NULLs.
func TestIntSumIsGMSSum(t *testing.T) {
	ctx := gsql.NewEmptyContext()
	for _, tc := range []struct {
		name string
		typ  gsql.Type
		vals []any
	}{
		{"none", types.Int32, nil},
		{"only NULL", types.Int32, []any{nil, nil}},
		{"small", types.Int32, []any{int32(1), nil, int32(-7), int32(100)}},
		{"past int64", types.Int64, []any{int64(math.MaxInt64), int64(1), int64(math.MaxInt64), int64(-5)}},
		{"below int64", types.Int64, []any{int64(math.MinInt64), int64(-1), int64(3)}},
		{"back into int64", types.Int64, []any{int64(math.MaxInt64), int64(10), int64(math.MinInt64)}},
		{"uint64", types.Uint64, []any{uint64(math.MaxUint64), uint64(2), uint64(7)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arg := expression.NewGetField(0, tc.typ, "v", true)
			exact, _ := exactArg(ctx, arg, 0)
			gms, err := aggregation.NewSum(exact).NewBuffer(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ours, _ := (&intSum{Sum: aggregation.NewSum(exact), arg: arg}).NewBuffer(ctx)
			for _, v := range tc.vals {
				if err := gms.Update(ctx, gsql.Row{v}); err != nil {
					t.Fatal(err)
				}
				if err := ours.Update(ctx, gsql.Row{v}); err != nil {
					t.Fatal(err)
				}
			}
			want, _ := gms.Eval(ctx)
			got, _ := ours.Eval(ctx)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("SUM %v: %v, GMS %v", tc.vals, got, want)
			}
		})
	}
}

// TestGroupedSumTakesIntSum: exactAggregates gives SUM of an integer
// expression in a grouped query the int64 buffer, and leaves SUM(DISTINCT)
// and SUM of a decimal to GMS; the buffer answers as GMS's exact SUM.
func TestGroupedSumTakesIntSum(t *testing.T) {
	ctx := gsql.NewEmptyContext()
	col := func(typ gsql.Type) gsql.Expression { return expression.NewGetField(0, typ, "v", true) }
	for _, tc := range []struct {
		name string
		arg  gsql.Expression
		fast bool
	}{
		{"integer column", col(types.Int64), true},
		{"integer expression", expression.NewArithmetic(col(types.Int32), expression.NewLiteral(int8(2), types.Int8), "*"), true},
		{"distinct", expression.NewDistinctExpression(col(types.Int64)), false},
		{"decimal", col(types.MustCreateDecimalType(10, 2)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &typeFixer{byId: map[gsql.ColumnId]gsql.Type{}, byName: map[string]gsql.Type{}}
			out, _, err := f.expr(ctx, aggregation.NewSum(tc.arg))
			if err != nil {
				t.Fatal(err)
			}
			fast, ok := out.(*intSum)
			if ok != tc.fast {
				t.Fatalf("%s: intSum %v, want %v", out, ok, tc.fast)
			}
			if !ok {
				return
			}
			// The analyzer rebuilds it when it moves the column's index.
			moved, err := fast.WithChildren(ctx, expression.NewConvertWithLengthAndScale(tc.arg, expression.ConvertToDecimal, 65, 0))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := moved.(*intSum); !ok {
				t.Errorf("rebuilt as %T", moved)
			}
			if _, ok := fast.WithId(7).(*intSum); !ok {
				t.Error("numbered as GMS's Sum")
			}
			if !types.IsDecimal(fast.Type(ctx)) {
				t.Errorf("type %s, want DECIMAL", fast.Type(ctx))
			}
			ours, _ := fast.NewBuffer(ctx)
			gms, _ := fast.Sum.NewBuffer(ctx)
			for _, v := range []any{int64(math.MaxInt64), nil, int64(5), int64(-9)} {
				v := v
				if tc.name == "integer expression" && v != nil {
					v = int32(v.(int64) % 1000)
				}
				for _, b := range []gsql.AggregationBuffer{ours, gms} {
					if err := b.Update(ctx, gsql.Row{v}); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, _ := ours.Eval(ctx)
			want, _ := gms.Eval(ctx)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("SUM: %v, GMS %v", got, want)
			}
		})
	}
}

// TestGroupedAvgTakesIntAvg: exactAggregates gives AVG of an integer
// expression the int64 buffer, whose answer is GMS's exact AVG (value,
// scale and rounding) for every set of values, and keeps it when rebuilt.
func TestGroupedAvgTakesIntAvg(t *testing.T) {
	ctx := gsql.NewEmptyContext()
	arg := expression.NewGetField(0, types.Int64, "v", true)
	f := &typeFixer{byId: map[gsql.ColumnId]gsql.Type{}, byName: map[string]gsql.Type{}}
	out, _, err := f.expr(ctx, aggregation.NewAvg(arg))
	if err != nil {
		t.Fatal(err)
	}
	fast, ok := out.(*intAvg)
	if !ok {
		t.Fatalf("%s is %T, not intAvg", out, out)
	}
	if moved, _ := fast.WithChildren(ctx, fast.Avg.Child); fmt.Sprintf("%T", moved) != "*sql.intAvg" {
		t.Errorf("rebuilt as %T", moved)
	}
	if _, ok := fast.WithId(3).(*intAvg); !ok {
		t.Error("numbered as GMS's Avg")
	}
	if _, _, err := f.expr(ctx, aggregation.NewAvg(expression.NewDistinctExpression(arg))); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := f.expr(ctx, aggregation.NewAvg(expression.NewDistinctExpression(arg))); fmt.Sprintf("%T", out) == "*sql.intAvg" {
		t.Error("AVG(DISTINCT) took the int64 buffer")
	}
	for _, tc := range []struct {
		name string
		vals []any
	}{
		{"none", nil},
		{"only NULL", []any{nil}},
		{"zeros", []any{int64(0), int64(0), int64(0)}},
		{"thirds", []any{int64(1), int64(2), int64(2)}},
		{"negative", []any{int64(-7), nil, int64(-8), int64(4)}},
		{"rounding", []any{int64(2), int64(2), int64(3), int64(3), int64(3), int64(3)}},
		{"past int64", []any{int64(math.MaxInt64), int64(math.MaxInt64), int64(7)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, _ := fast.NewBuffer(ctx)
			gms, _ := fast.Avg.NewBuffer(ctx)
			for _, v := range tc.vals {
				for _, b := range []gsql.AggregationBuffer{ours, gms} {
					if err := b.Update(ctx, gsql.Row{v}); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := ours.Eval(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := gms.Eval(ctx)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("AVG %v: %v, GMS %v", tc.vals, got, want)
			}
		})
	}
}
