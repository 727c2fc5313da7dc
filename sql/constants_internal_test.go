package sql

import "testing"

func TestIsConstantSelect(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                       true,
		"select 1;":                      true,
		"SELECT 1 AS one, 2.5, NULL":     true,
		"SELECT 1 FROM DUAL":             true,
		"SELECT 'a'":                     false, // depends on the session's character set
		"SELECT 1; SELECT 2":             false,
		"SELECT 1 + 1":                   false,
		"SELECT -1":                      true, // the parser folds the sign
		"SELECT @@version":               false,
		"SELECT CONNECTION_ID()":         false,
		"SELECT NOW()":                   false,
		"SELECT 1 FROM customers":        false,
		"SELECT 1 FROM dual WHERE 1 = 0": false,
		"SELECT 1 LIMIT 0":               false,
		"SELECT 1 INTO @x":               false,
		"SELECT 1 UNION SELECT 2":        false,
		"SELECT SLEEP(1)":                false,
		"SELEC 1":                        false,
	} {
		if got := isConstantSelect(q); got != want {
			t.Errorf("%q: constant %v, want %v", q, got, want)
		}
	}
}
