package sql_test

import (
	"context"
	"testing"
	"time"

	imagosql "github.com/imagodb/imago/sql"
)

// A statement that runs past --mysql-query-timeout while its rows are
// streaming ends with MySQL's 3024, and its connection goes on serving.
func TestTimeoutWhileStreamingIs3024(t *testing.T) {
	f := newFixture(t, func(c *imagosql.Config) { c.QueryTimeout = 300 * time.Millisecond })
	ctx := context.Background()
	conn, err := f.conn.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "SELECT o.order_id, o2.order_id, o3.order_id FROM orders o, orders o2, orders o3")
	if err != nil {
		if n := mysqlErrNumber(err); n != 3024 {
			t.Fatalf("timed-out statement: %v (error %d), want 3024", err, n)
		}
	} else {
		n := 0
		for rows.Next() {
			n++
		}
		err = rows.Err()
		rows.Close()
		if n := mysqlErrNumber(err); n != 3024 {
			t.Fatalf("timed-out statement after rows: %v (error %d), want 3024", err, n)
		}
		t.Logf("%d rows before the timeout", n)
	}
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the connection after the timeout: %v", err)
	}
}
