package sql_test

import (
	"fmt"
	"testing"
)

// The performance_schema tables tools read exist and agree with the
// variables as SHOW reports them.
func TestPerformanceSchemaVariables(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ table, show, name string }{
		{"session_variables", "SHOW SESSION VARIABLES LIKE 'max_allowed_packet'", "max_allowed_packet"},
		{"global_variables", "SHOW GLOBAL VARIABLES LIKE 'version_comment'", "version_comment"},
		{"session_variables", "SHOW SESSION VARIABLES LIKE 'autocommit'", "autocommit"},
		{"session_status", "SHOW SESSION STATUS LIKE 'Com_select'", "Com_select"},
		{"global_status", "SHOW GLOBAL STATUS LIKE 'Threads_connected'", "Threads_connected"},
	} {
		var name, want string
		if err := f.conn.QueryRow(c.show).Scan(&name, &want); err != nil {
			t.Fatalf("%s: %v", c.show, err)
		}
		var got string
		q := fmt.Sprintf("SELECT VARIABLE_VALUE FROM performance_schema.%s WHERE VARIABLE_NAME = ?", c.table)
		if err := f.conn.QueryRow(q, name).Scan(&got); err != nil {
			t.Errorf("%s [%s]: %v", q, name, err)
			continue
		}
		// Com_select counts the statements, the SHOW among them.
		if c.name != "Com_select" && got != want {
			t.Errorf("performance_schema.%s %s = %q, %s says %q", c.table, c.name, got, c.show, want)
		}
	}
	var n int
	if err := f.conn.QueryRow("SELECT COUNT(*) FROM performance_schema.session_variables").Scan(&n); err != nil || n < 100 {
		t.Errorf("performance_schema.session_variables: %d rows, %v", n, err)
	}
}
