package sql

import (
	"testing"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

func sameSQL(t *testing.T, got, want string) {
	t.Helper()
	w, err := sqlparser.Parse(want)
	if err != nil {
		t.Fatalf("%s: %v", want, err)
	}
	if got != sqlparser.String(w) {
		t.Errorf("got  %s\nwant %s", got, sqlparser.String(w))
	}
}

func TestRollupUnion(t *testing.T) {
	got, ok := rollupUnion("SELECT a, COALESCE(b, 'all') AS b, SUM(x) FROM t GROUP BY a, b WITH ROLLUP ORDER BY a LIMIT 5")
	if !ok {
		t.Fatal("not rewritten")
	}
	sameSQL(t, got, "(SELECT a, COALESCE(b, 'all') AS b, SUM(x) FROM t GROUP BY a, b) UNION ALL "+
		"(SELECT a, COALESCE(NULL, 'all') AS b, SUM(x) FROM t GROUP BY a) UNION ALL "+
		"(SELECT NULL, COALESCE(NULL, 'all') AS b, SUM(x) FROM t) ORDER BY a LIMIT 5")
	for _, q := range []string{"SELECT a FROM t GROUP BY a", "SELECT 'WITH ROLLUP' FROM t", "SELECT a FROM t GROUP BY a WITH ROLLUP UNION SELECT b FROM u GROUP BY b WITH ROLLUP"} {
		if got, ok := rollupUnion(q); ok {
			t.Errorf("%s rewritten to %s", q, got)
		}
	}
}

func TestGroupedSubqueries(t *testing.T) {
	sameSQL(t, rewriteStatement("SELECT c, COUNT(*) / (SELECT COUNT(*) FROM t) FROM t GROUP BY c", nil, nil),
		"SELECT c, COUNT(*) / (SELECT COUNT(*) FROM t) FROM t GROUP BY c, (SELECT COUNT(*) FROM t)")
	// Correlated, inside an aggregate, or not grouped: untouched.
	for _, q := range []string{
		"SELECT o.c, (SELECT MAX(x) FROM u WHERE u.c = o.c) FROM t o GROUP BY o.c",
		"SELECT c, SUM((SELECT 1)) FROM t GROUP BY c",
		"SELECT c, (SELECT 1) FROM t",
	} {
		if got := rewriteStatement(q, nil, nil); got != q {
			t.Errorf("%s rewritten to %s", q, got)
		}
	}
}

func TestDerivedSubqueries(t *testing.T) {
	schema := schemaColumns{
		"orders":    {"order_id": true, "customer_id": true, "total": true},
		"customers": {"customer_id": true, "name": true},
	}
	for _, c := range []struct{ name, in, want string }{
		{"grouped IN",
			"SELECT name FROM customers WHERE customer_id IN (SELECT customer_id FROM orders GROUP BY customer_id HAVING SUM(total) > 10)",
			"SELECT name FROM customers WHERE customer_id IN (SELECT imago_in_1.customer_id FROM (SELECT customer_id FROM orders GROUP BY customer_id HAVING SUM(total) > 10) AS imago_in_1)"},
		{"= with LIMIT 1",
			"SELECT order_id FROM orders WHERE customer_id = (SELECT o.customer_id FROM orders o GROUP BY o.customer_id ORDER BY COUNT(*) DESC LIMIT 1)",
			"SELECT order_id FROM orders WHERE customer_id = (SELECT imago_in_1.customer_id FROM (SELECT o.customer_id FROM orders o GROUP BY o.customer_id ORDER BY COUNT(*) DESC LIMIT 1) AS imago_in_1)"},
	} {
		t.Run(c.name, func(t *testing.T) { sameSQL(t, rewriteStatement(c.in, nil, schema), c.want) })
	}
	// Correlated (qualified or not), = without LIMIT 1, plain IN, an
	// unknown table: untouched.
	for _, q := range []string{
		"SELECT name FROM customers c WHERE customer_id IN (SELECT customer_id FROM orders o WHERE o.customer_id = c.customer_id GROUP BY customer_id)",
		"SELECT name FROM customers c WHERE customer_id IN (SELECT customer_id FROM orders GROUP BY customer_id HAVING MAX(name) > 'a')",
		"SELECT order_id FROM orders WHERE customer_id = (SELECT customer_id FROM orders GROUP BY customer_id)",
		"SELECT name FROM customers WHERE customer_id IN (SELECT customer_id FROM orders)",
		"SELECT name FROM customers WHERE customer_id IN (SELECT customer_id FROM other GROUP BY customer_id)",
	} {
		if got := rewriteStatement(q, nil, schema); got != q {
			t.Errorf("%s rewritten to %s", q, got)
		}
	}
}

func TestCommonConjuncts(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"join condition in every branch",
			"SELECT 1 FROM a, b WHERE (a.k = b.k AND a.x = 1 AND b.y < 2) OR (a.k = b.k AND a.x = 2) OR (b.y > 5 AND a.k = b.k)",
			"SELECT 1 FROM a, b WHERE a.k = b.k AND ((a.x = 1 AND b.y < 2) OR (a.x = 2) OR (b.y > 5))"},
		{"beside other conditions",
			"SELECT 1 FROM a WHERE a.z = 3 AND ((a.k = 1 AND a.x = 1) OR (a.k = 1 AND a.x = 2))",
			"SELECT 1 FROM a WHERE a.z = 3 AND a.k = 1 AND ((a.x = 1) OR (a.x = 2))"},
		{"a branch of only common conditions",
			"SELECT 1 FROM a WHERE (a.k = 1) OR (a.k = 1 AND a.x = 2)",
			"SELECT 1 FROM a WHERE a.k = 1"},
	} {
		t.Run(c.name, func(t *testing.T) { sameSQL(t, rewriteStatement(c.in, nil, nil), c.want) })
	}
	for _, q := range []string{"SELECT 1 FROM a WHERE a.x = 1 OR a.y = 2", "SELECT 1 FROM a WHERE (a.x = 1 AND a.y = 2) OR a.z = 3"} {
		if got := rewriteStatement(q, nil, nil); got != q {
			t.Errorf("%s rewritten to %s", q, got)
		}
	}
}

func TestGroupedWindows(t *testing.T) {
	got, ok := groupedWindows("SELECT status, COUNT(*) AS n, RANK() OVER (ORDER BY COUNT(*) DESC) AS r FROM orders WHERE x > 1 GROUP BY status HAVING COUNT(*) > 2 ORDER BY status, r LIMIT 3")
	if !ok {
		t.Fatal("not rewritten")
	}
	reparsed, err := sqlparser.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	sameSQL(t, sqlparser.String(reparsed), "SELECT imago_grouped.imago_g0 AS status, imago_grouped.imago_a1 AS n, RANK() OVER (ORDER BY imago_grouped.imago_a1 DESC) AS r "+
		"FROM (SELECT status AS imago_g0, COUNT(*) AS imago_a1 FROM orders WHERE x > 1 GROUP BY status HAVING COUNT(*) > 2) AS imago_grouped ORDER BY status ASC, r ASC LIMIT 3")
	for _, q := range []string{
		"SELECT status, RANK() OVER (ORDER BY status) FROM orders GROUP BY status", // no aggregate in the window
		"SELECT status, name, SUM(COUNT(*)) OVER () FROM orders GROUP BY status",   // name is not grouped
		"SELECT status, COUNT(*) FROM orders GROUP BY status",
	} {
		if got, ok := groupedWindows(q); ok {
			t.Errorf("%s rewritten to %s", q, got)
		}
	}
}
