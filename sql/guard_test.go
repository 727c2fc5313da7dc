package sql_test

import (
	gosql "database/sql"
	"strings"
	"testing"
)

// TestGuardVerdictsAreNotRemembered: the read-only guard remembers the
// texts it let through, never a refusal. Each statement it refuses (a
// write, something GMS's read-only mode lets through, a statement beyond
// the limits) is refused when asked again, over the text protocol, over a
// connection with multi-statements (the first statement judged) and as a
// prepared statement, after allowed statements with the same start were
// let through; and the image does not change.
func TestGuardVerdictsAreNotRemembered(t *testing.T) {
	f := newFixture(t)
	multi := f.open(t, "root", "", "multiStatements=true")
	before := f.db.View()
	allowed := []string{
		"SELECT 1",
		"SELECT COUNT(*) FROM customers",
		"SET @x = 1",
	}
	for _, q := range allowed {
		for _, conn := range []*gosql.DB{f.conn, multi} {
			for range 2 {
				if _, err := conn.Exec(q); err != nil {
					t.Fatalf("%s: %v, want it allowed", q, err)
				}
			}
		}
	}
	for _, q := range []struct {
		name, query string
		code        uint16
	}{
		{"insert", "INSERT INTO customers VALUES ('x', 'x', 'x@y', 'DE', NOW())", 1290},
		{"delete", "DELETE FROM orders", 1290},
		{"drop", "DROP TABLE customers", 1290},
		{"set global", "SET GLOBAL max_connections = 1", 1290},
		{"load_file", "SELECT 1, LOAD_FILE('/etc/passwd')", 1290},
		{"outfile", "SELECT COUNT(*) FROM customers INTO OUTFILE '/tmp/imago-guard-test'", 1290},
		{"analyze", "ANALYZE TABLE customers", 1290},
		{"write first, read after", "INSERT INTO customers VALUES ('y', 'y', 'y@y', 'DE', NOW()); SELECT 1", 1290},
		{"too many IN items", "SELECT COUNT(*) FROM orders WHERE order_id IN (" + inList(5000, "'o-t-1'") + ")", 3170},
		{"too long", "SELECT 1 FROM orders WHERE order_id IN (" + inList(100_000, "'o-t-12345'") + ")", 1153},
		{"SQL PREPARE of a write", "PREPARE s FROM 'DELETE FROM orders'", 1290},
	} {
		t.Run(q.name, func(t *testing.T) {
			// Multi-statement texts are refused by the guard only where the
			// client sends several statements in one query.
			multiOnly := strings.Contains(q.query, "; ")
			for i := range 2 {
				if !multiOnly {
					if _, err := f.conn.Exec(q.query); !isMySQLError(err, q.code) {
						t.Fatalf("text protocol, asked %d times: %v, want error %d", i+1, err, q.code)
					}
					if _, err := f.conn.Prepare(q.query); !isMySQLError(err, q.code) {
						t.Fatalf("prepared, asked %d times: %v, want error %d", i+1, err, q.code)
					}
				}
				if _, err := multi.Exec(q.query); !isMySQLError(err, q.code) {
					t.Fatalf("multi-statements, asked %d times: %v, want error %d", i+1, err, q.code)
				}
			}
		})
	}
	after := f.db.View()
	h1, _ := before.Snapshot.Hash()
	h2, _ := after.Snapshot.Hash()
	if h1 != h2 || before.Seq != after.Seq {
		t.Fatal("a refused statement changed the image")
	}
}
