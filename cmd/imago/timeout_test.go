package main

import (
	"errors"
	"testing"
	"time"

	gosql "database/sql"

	"github.com/go-sql-driver/mysql"
)

// TestStatementTimeout: imago serve bounds a statement by default
// (imago.status says by how much), --mysql-query-timeout sets the bound, a
// statement past it ends with MySQL's 3024 and its connection goes on, and 0
// turns the bound off.
func TestStatementTimeout(t *testing.T) {
	for _, c := range []struct {
		name, flag, want string
	}{
		{"default", "", "5m0s"},
		{"set", "300ms", "300ms"},
		{"off", "0", "off"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			if c.flag != "" {
				args = []string{"--mysql-query-timeout", c.flag}
			}
			p := start(t, t.TempDir(), args...)
			if got := statusValue(t, p.sqlAddr, "query_timeout"); got != c.want {
				t.Fatalf("imago.status query_timeout %q, want %q", got, c.want)
			}
			if c.name != "set" {
				return
			}
			db, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/shop")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1) // the statement after the timeout uses the same connection
			start := time.Now()
			var n int64
			// Ten seconds for each row of imago.status: minutes unbounded.
			err = db.QueryRow("SELECT COUNT(*) FROM (SELECT SLEEP(10) AS s FROM imago.status) t").Scan(&n)
			var my *mysql.MySQLError
			if !errors.As(err, &my) || my.Number != 3024 {
				t.Fatalf("a statement past the timeout: %v (%d rows), want error 3024", err, n)
			}
			if took := time.Since(start); took > 60*time.Second {
				t.Errorf("the timeout of 300ms fired after %v", took)
			}
			var one int
			if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("the connection after the timeout: %v", err)
			}
		})
	}
}
