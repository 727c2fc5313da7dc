package sql_test

import (
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mysqlErrNumber is the MySQL error number of err, or 0.
func mysqlErrNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// A statement naming no database while none is selected is MySQL's 1046,
// not GMS's generic 1105.
func TestNoDatabaseSelectedIs1046(t *testing.T) {
	f := newFixture(t)
	conn, err := gosql.Open("mysql", fmt.Sprintf("root@tcp(%s)/", f.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.Exec("SELECT COUNT(*) FROM orders")
	if n := mysqlErrNumber(err); n != 1046 {
		t.Fatalf("SELECT without a database: %v (error %d), want 1046", err, n)
	}
	var n int
	if err := conn.QueryRow("SELECT COUNT(*) FROM shop.orders").Scan(&n); err != nil {
		t.Fatalf("a qualified table without a database: %v", err)
	}
}

// KILL QUERY interrupts another session's statement with MySQL's 1317, and
// that session's connection goes on serving.
func TestKillQueryIs1317(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	victim, err := f.conn.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	var id int64
	if err := victim.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := victim.ExecContext(ctx, "SELECT SLEEP(20)")
		done <- err
	}()
	killer := f.open(t, "root", "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var running int
		killer.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE id = ? AND info LIKE 'SELECT SLEEP%'", id).Scan(&running)
		if running > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := killer.Exec(fmt.Sprintf("KILL QUERY %d", id)); err != nil {
		t.Fatalf("KILL QUERY: %v", err)
	}
	select {
	case err := <-done:
		if n := mysqlErrNumber(err); n != 1317 {
			t.Fatalf("killed statement: %v (error %d), want 1317", err, n)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("KILL QUERY did not stop the statement")
	}
	var one int
	if err := victim.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the killed statement's connection after KILL QUERY: %v", err)
	}
}

// A window function over an aggregate in a grouped query, which GMS refuses,
// is refused with MySQL's 1140 and a message that says what to write.
func TestWindowOverAggregateMessage(t *testing.T) {
	f := newFixture(t)
	// A grouped SELECT is rewritten (groupedWindows) and answers; the same
	// inside a derived table is not, and gets GMS's refusal, readable.
	rows, err := f.conn.Query("SELECT status, COUNT(*), RANK() OVER (ORDER BY COUNT(*) DESC) FROM orders GROUP BY status")
	if err != nil {
		t.Fatalf("window over an aggregate: %v", err)
	}
	rows.Close()
	_, err = f.conn.Exec("SELECT * FROM (SELECT status, COUNT(*) AS n, RANK() OVER (ORDER BY COUNT(*) DESC) AS r FROM orders GROUP BY status) t")
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1140 || strings.Contains(me.Message, "MISSING") || !strings.Contains(me.Message, "derived table") {
		t.Fatalf("window over an aggregate: %v", err)
	}
}
