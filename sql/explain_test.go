package sql_test

import (
	gosql "database/sql"
	"strings"
	"testing"
)

// Plain EXPLAIN's absent values are NULLs, so that a client reading rows
// as a number (MySQL's EXPLAIN types it BIGINT) can.
func TestExplainSendsNulls(t *testing.T) {
	f := newFixture(t)
	rows, err := f.conn.Query("EXPLAIN SELECT * FROM orders WHERE status = 'paid'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]gosql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if v.Valid && v.String == "NULL" {
				t.Errorf("EXPLAIN column %s holds the text NULL", cols[i])
			}
			if strings.EqualFold(cols[i], "rows") && v.Valid {
				var r gosql.NullInt64
				if err := r.Scan(v.String); err != nil {
					t.Errorf("EXPLAIN rows %q is no number: %v", v.String, err)
				}
			}
		}
	}
	if err := rows.Err(); err != nil || n == 0 {
		t.Fatalf("EXPLAIN: %d rows, %v", n, err)
	}
}

// An admin's SHOW GRANTS on the read-only server lists no privilege that
// writes: the server refuses every write.
func TestAdminGrantsAreReadOnly(t *testing.T) {
	f := newFixture(t)
	rows, err := f.conn.Query("SHOW GRANTS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		all = append(all, g)
	}
	text := strings.Join(all, "\n")
	privileges := strings.NewReplacer("GRANT ", ",", " ON ", ",").Replace(text)
	for _, w := range []string{"INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "FILE", "SHUTDOWN", "SUPER", "ALL PRIVILEGES", "GRANT OPTION"} {
		for _, p := range strings.Split(privileges, ",") {
			if strings.HasPrefix(strings.TrimSpace(p), w) {
				t.Errorf("SHOW GRANTS for root lists %s on a read-only server:\n%s", w, text)
			}
		}
	}
	if !strings.Contains(text, "SELECT") {
		t.Errorf("SHOW GRANTS for root lists no SELECT:\n%s", text)
	}
	if _, err := f.conn.Exec("DELETE FROM orders"); err == nil {
		t.Fatal("DELETE passed on the read-only server")
	}
}
