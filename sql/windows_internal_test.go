package sql

import (
	"testing"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// Named windows are inlined as MySQL defines them: the reference's own
// PARTITION BY, ORDER BY and frame added to the named window's.
func TestInlineWindows(t *testing.T) {
	cases := []struct{ named, inline string }{
		{"SELECT SUM(x) OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY b)",
			"SELECT SUM(x) OVER (PARTITION BY a ORDER BY b) FROM t"},
		{"SELECT RANK() OVER w, ROW_NUMBER() OVER (ORDER BY c) FROM t WINDOW w AS (ORDER BY b DESC)",
			"SELECT RANK() OVER (ORDER BY b DESC), ROW_NUMBER() OVER (ORDER BY c) FROM t"},
		{"SELECT SUM(x) OVER (w ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t WINDOW w AS (PARTITION BY a ORDER BY b)",
			"SELECT SUM(x) OVER (PARTITION BY a ORDER BY b ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t"},
		{"SELECT SUM(x) OVER w2 FROM t WINDOW w1 AS (PARTITION BY a), w2 AS (w1 ORDER BY b)",
			"SELECT SUM(x) OVER (PARTITION BY a ORDER BY b) FROM t"},
		{"SELECT (SELECT MAX(y) OVER w FROM u WINDOW w AS (ORDER BY y) LIMIT 1) FROM t",
			"SELECT (SELECT MAX(y) OVER (ORDER BY y) FROM u LIMIT 1) FROM t"},
	}
	for _, c := range cases {
		want, err := sqlparser.Parse(c.inline)
		if err != nil {
			t.Fatalf("%s: %v", c.inline, err)
		}
		if got := inlineWindows(c.named, nil); got != sqlparser.String(want) {
			t.Errorf("%s:\n got %s\nwant %s", c.named, got, sqlparser.String(want))
		}
	}
	for _, q := range []string{"SELECT 1", "SELECT SUM(x) OVER nowhere FROM t WINDOW w AS (ORDER BY b)"} {
		if got := inlineWindows(q, nil); got != q {
			t.Errorf("%s rewritten to %s, want it untouched", q, got)
		}
	}
}

func TestRangeFrames(t *testing.T) {
	sameSQL(t, rewriteStatement("SELECT SUM(x) OVER (PARTITION BY p ORDER BY y), ROW_NUMBER() OVER (ORDER BY y), COUNT(*) OVER (ORDER BY y ROWS 1 PRECEDING), AVG(x) OVER () FROM t", nil, nil),
		"SELECT SUM(x) OVER (PARTITION BY p ORDER BY y RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), ROW_NUMBER() OVER (ORDER BY y), COUNT(*) OVER (ORDER BY y ROWS 1 PRECEDING), AVG(x) OVER () FROM t")
}
