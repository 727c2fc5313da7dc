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
			ours, _ := (&intSum{Sum: aggregation.NewSum(exact), col: 0}).NewBuffer(ctx)
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
