package sql

import (
	"testing"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

// TestBytewiseOrderIsGMSOrder: for Imago's string collation the bytewise
// comparison the read plan sorts with agrees with GMS's on every pair, and
// it is not used for values GMS would refuse to compare.
func TestBytewiseOrderIsGMSOrder(t *testing.T) {
	ctx := gsql.NewEmptyContext()
	typ := types.MustCreateString(sqltypes.VarChar, 100, gsql.Collation_utf8mb4_0900_bin)
	vals := []any{nil, "", " ", "a", "a ", "a\x00", "A", "ab", "b", "é", "e\u0301", "z", "ÿ", "Ā", "中", "中文", "😀", "\uffff", "\U00010000"}
	var rows []gsql.Row
	for _, v := range vals {
		rows = append(rows, gsql.Row{v})
	}
	if !sortsBytewise(typ, rows, 0) {
		t.Fatal("valid utf8mb4_0900_bin strings do not sort bytewise")
	}
	sign := func(c int) int { return min(max(c, -1), 1) }
	for _, a := range vals {
		for _, b := range vals {
			want, err := compareNullsFirst(ctx, typ, a, b)
			if err != nil {
				t.Fatal(err)
			}
			if got := compareStringsNullsFirst(a, b); sign(got) != sign(want) {
				t.Errorf("%q vs %q: %d, GMS %d", a, b, got, want)
			}
		}
	}
	for name, tc := range map[string]struct {
		typ gsql.Type
		v   any
	}{
		"invalid UTF-8":     {typ, "a\xff"},
		"another collation": {types.MustCreateString(sqltypes.VarChar, 100, gsql.Collation_utf8mb4_0900_ai_ci), "a"},
		"not a string":      {types.Int32, int32(1)},
	} {
		if sortsBytewise(tc.typ, []gsql.Row{{"a"}, {tc.v}}, 0) {
			t.Errorf("%s sorts bytewise", name)
		}
	}
}
