// Command gocheck is the Go client of the compatibility suite: database/sql
// with go-sql-driver/mysql connects to Imago, introspects the shop, runs
// joins and aggregates (text and binary protocol) and checks the answers
// against compat/shopload's expected.json.
package main

import (
	gosql "database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"

	_ "github.com/go-sql-driver/mysql"
)

const (
	byCountry = `SELECT c.country, COUNT(*), SUM(o.total_cents) FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.country ORDER BY c.country`
	bySKU     = `SELECT l.sku, SUM(l.quantity) FROM order_lines l JOIN products p ON p.sku = l.sku GROUP BY l.sku ORDER BY l.sku`
)

func main() {
	dsn := flag.String("dsn", "root@tcp(127.0.0.1:3306)/shop", "go-sql-driver DSN")
	expected := flag.String("expected", "expected.json", "shopload's answers")
	flag.Parse()
	if err := check(*dsn, *expected); err != nil {
		fmt.Fprintln(os.Stderr, "go (database/sql):", err)
		os.Exit(1)
	}
	fmt.Println("go (database/sql + go-sql-driver/mysql): ok")
}

func check(dsn, expectedFile string) error {
	var exp struct {
		Customers, Orders int
		ByCountry         [][]any `json:"by_country"`
		BySKU             [][]any `json:"by_sku"`
		Probe             []any
		Tables            []string
	}
	b, err := os.ReadFile(expectedFile)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		return err
	}
	db, err := gosql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()

	tables, err := rows(db, "SHOW TABLES")
	if err != nil {
		return err
	}
	if got := flat(tables); !reflect.DeepEqual(got, exp.Tables) {
		return fmt.Errorf("SHOW TABLES: %v, want %v", got, exp.Tables)
	}
	pk, err := rows(db, "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'order_lines' AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION")
	if err != nil {
		return err
	}
	if got := strings.Join(flat(pk), ","); got != "order_id,line_no" {
		return fmt.Errorf("primary key of order_lines: %s", got)
	}
	for _, c := range []struct {
		query string
		want  [][]any
	}{
		{byCountry, exp.ByCountry},
		{bySKU, exp.BySKU},
		{"SELECT COUNT(*) FROM customers", [][]any{{exp.Customers}}},
		{"SELECT COUNT(*) FROM imago.commands WHERE name = 'place_order'", [][]any{{exp.Orders}}},
	} {
		got, err := rows(db, c.query)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			return fmt.Errorf("%s:\n got %v\nwant %v", c.query, got, c.want)
		}
	}
	stmt, err := db.Prepare("SELECT total_cents FROM orders WHERE order_id = ?")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for range 3 {
		var total float64
		if err := stmt.QueryRow(exp.Probe[0]).Scan(&total); err != nil || total != exp.Probe[1].(float64) {
			return fmt.Errorf("prepared lookup of %v: %v, %v; want %v", exp.Probe[0], total, err, exp.Probe[1])
		}
	}
	return nil
}

// rows returns every row of a query as strings.
func rows(db *gosql.DB, query string) ([][]string, error) {
	r, err := db.Query(query)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	defer r.Close()
	cols, _ := r.Columns()
	var out [][]string
	for r.Next() {
		vals := make([]gosql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out, r.Err()
}

func flat(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[0])
	}
	return out
}
