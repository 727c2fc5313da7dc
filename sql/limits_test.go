package sql_test

import (
	"context"
	"strings"
	"testing"
)

// inList is "'o-t-0', 'o-t-1', ..." with n items.
func inList(n int, item string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = item
	}
	return strings.Join(items, ",")
}

// TestStatementLimits: statements whose planning GMS cannot interrupt
// (the attack: 100k IN items or 100k chained NOTs planned for minutes,
// past the query timeout and KILL) are refused before planning, with an
// error naming the limit; the connection keeps working.
func TestStatementLimits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.conn.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []struct {
		name, query string
		args        []any
		code        uint16
		says        string
	}{
		{"100k IN items", "SELECT COUNT(*) FROM orders WHERE order_id IN (" + inList(100_000, "'o-t-12345'") + ")", nil, 1153, "limit of 1048576 bytes"},
		{"5k IN items", "SELECT COUNT(*) FROM orders WHERE order_id IN (" + inList(5000, "'o-t-1'") + ")", nil, 3170, "limit of 1000 IN-list items"},
		{"NOT IN", "SELECT COUNT(*) FROM orders WHERE order_id NOT IN (" + inList(5000, "'o-t-1'") + ")", nil, 3170, "limit of 1000 IN-list items"},
		{"100k NOTs", "SELECT COUNT(*) FROM orders WHERE " + strings.Repeat("NOT ", 100_000) + "order_id = 'x'", nil, 3170, "limit of 1000 levels"},
		{"long OR chain", "SELECT COUNT(*) FROM orders WHERE " + strings.Repeat("order_id = 'x' OR ", 2000) + "1 = 0", nil, 3170, "limit of 1000 levels"},
		{"wide expression", "SELECT CONCAT(" + inList(120_000, "1") + ")", nil, 3170, "limit of 100000"},
		{"prepared IN", "SELECT COUNT(*) FROM orders WHERE order_id IN (" + inList(5000, "?") + ")", make([]any, 5000), 3170, "limit of 1000 IN-list items"},
		{"SQL PREPARE", "PREPARE s FROM 'SELECT COUNT(*) FROM orders WHERE " + strings.Repeat("NOT ", 5000) + "1'", nil, 3170, "limit of 1000 levels"},
	} {
		t.Run(q.name, func(t *testing.T) {
			for i := range q.args {
				q.args[i] = "o-t-1"
			}
			var v any
			err := c.QueryRowContext(ctx, q.query, q.args...).Scan(&v)
			if !isMySQLError(err, q.code) || !strings.Contains(err.Error(), q.says) {
				t.Fatalf("%.60s...: %v, want error %d saying %q", q.query, err, q.code, q.says)
			}
			var one int
			if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
				t.Fatalf("the connection after the refusal: %v", err)
			}
		})
	}
	t.Run("within the limits", func(t *testing.T) {
		var n int
		q := "SELECT COUNT(*) FROM orders WHERE order_id IN ('o-t-1'," + inList(998, "'none'") + ") AND " + strings.Repeat("NOT ", 101) + "order_id = 'x'"
		if err := c.QueryRowContext(ctx, q).Scan(&n); err != nil || n != 1 {
			t.Fatalf("got %d, %v; want 1 row", n, err)
		}
	})
}
