package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/bench/sbtest"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/tpcc"
	imagosql "github.com/imagodb/imago/sql"
)

// readCase is a prepared statement and the parameters it is executed with.
type readCase struct {
	query string
	args  [][]any
}

// serveApp opens app in a temporary directory, submits load, and serves it
// over MySQL with db as the current database.
func serveApp(t *testing.T, app *imago.App, load []commands.Command) (*gosql.DB, *imagosql.Server) {
	t.Helper()
	db, err := imago.Open(t.TempDir(), app, imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, c := range load {
		if _, err := db.Submit(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: app.Name, Tables: db.Tables(), Source: db, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	conn, err := gosql.Open("mysql", fmt.Sprintf("root@tcp(%s)/%s?parseTime=true", srv.Addr(), app.Name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, srv
}

// checkReads executes each case's statement prepared with each of its
// parameter lists, and the first again (the first execution is GMS's, later
// ones the read plan's), and compares the answers with GMS's for the same
// statement as text. Each later execution must have gone through the plan.
func checkReads(t *testing.T, conn *gosql.DB, srv *imagosql.Server, cases []readCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			stmt, err := conn.Prepare(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer stmt.Close()
			before := int64(-1)
			for i, args := range append(tc.args, tc.args[0]) {
				if i == 1 {
					before = srv.PlannedReads()
				}
				text := tc.query
				for _, a := range args {
					lit := fmt.Sprint(a)
					if s, ok := a.(string); ok {
						lit = "'" + s + "'"
					}
					text = strings.Replace(text, "?", lit, 1)
				}
				want, err := rowStrings(conn.Query(text))
				if err != nil {
					t.Fatalf("%s: %v", text, err)
				}
				got, err := rowStrings(stmt.Query(args...))
				if err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%v: prepared answer (%d rows) differs from text (%d rows):\n%v\n%v", args, len(got), len(want), got, want)
				}
			}
			if planned := srv.PlannedReads() - before; planned != int64(len(tc.args)) {
				t.Errorf("%d of %d executions after the first went through the read plan", planned, len(tc.args))
			}
		})
	}
}

// TestSysbenchReads: the statements of sysbench's oltp_read_only, reads by
// the secondary index k (whose values repeat), and results larger than one
// streamed batch, answer through the prepared read plans exactly what GMS
// answers through the text protocol.
func TestSysbenchReads(t *testing.T) {
	const rows = 2000
	var load []commands.Command
	for first := 1; first <= rows; first += sbtest.MaxRows {
		load = append(load, &sbtest.InsertRows{Rows: sbtest.Generate(1, rows, first, sbtest.MaxRows)})
	}
	conn, srv := serveApp(t, sbtest.App(), load)
	checkReads(t, conn, srv, []readCase{
		{"SELECT c FROM sbtest1 WHERE id=?", [][]any{{1}, {rows}, {rows + 1}, {777}}},
		{"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?", [][]any{{1, 100}, {1950, 2050}, {10, 9}}},
		{"SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?", [][]any{{1, 100}, {5000, 6000}}},
		{"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c", [][]any{{1, 100}, {300, 1999}}},
		{"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c", [][]any{{1, 100}, {1, rows}}},
		{"SELECT DISTINCT k FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY k DESC", [][]any{{1, rows}}},
		{"SELECT * FROM sbtest1 WHERE id >= ?", [][]any{{1}, {rows - 300}, {rows - 255}, {rows - 511}}}, // batches of 256
		{"SELECT id, pad FROM sbtest1 WHERE id < ? AND id > ?", [][]any{{rows, 0}, {600, 100}}},
		{"SELECT id, c FROM sbtest1 WHERE id > ? LIMIT 3", [][]any{{5}, {rows - 1}, {rows}}},
		{"SELECT id, k FROM sbtest1 WHERE id > ? ORDER BY id DESC LIMIT 5", [][]any{{5}, {rows - 2}}},
		{"SELECT id, c FROM sbtest1 WHERE k = ?", [][]any{{1}, {2}, {rows / 2}, {rows + 7}}},
		{"SELECT id FROM sbtest1 WHERE k = ? LIMIT 1", [][]any{{1}, {3}, {rows / 3}}},
		{"SELECT id, k FROM sbtest1 WHERE k BETWEEN ? AND ?", [][]any{{1, 20}, {100, 90}}},
		{"SELECT id, k FROM sbtest1 WHERE k >= ? AND k < ? ORDER BY k DESC", [][]any{{1, 40}, {rows - 30, rows}}},
		{"SELECT COUNT(*), MIN(id), MAX(id) FROM sbtest1 WHERE k < ?", [][]any{{10}, {rows}}},
	})
}

// TestTPCCReads: the reads of TPC-C's Order-Status and Stock-Level
// (examples/tpcc/workload), on composite primary keys and secondary
// indexes, answer through the read plans exactly what GMS answers. Customer
// last names repeat (clause 4.3.2.3), so by-name reads return several rows.
func TestTPCCReads(t *testing.T) {
	const customers = 1100 // past 1,000 last names are drawn and repeat
	load := []commands.Command{
		&tpcc.LoadItems{First: 1, Count: 1000},
		&tpcc.LoadWarehouse{WID: 1, CustomersPerDistrict: customers, Seed: 1},
	}
	for did := int32(1); did <= 2; did++ {
		load = append(load, &tpcc.LoadDistrict{WID: 1, DID: did, Customers: customers, Items: 1000, CLoad: 123, Seed: uint64(did)})
	}
	conn, srv := serveApp(t, tpcc.App(), load)
	var names []any
	rows, err := conn.Query("SELECT c_last FROM customer WHERE c_w_id = 1 AND c_d_id = 1 GROUP BY c_last HAVING COUNT(*) > 2 ORDER BY c_last LIMIT 3")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if rows.Err() != nil || len(names) < 3 {
		t.Fatalf("want 3 last names held by several customers, have %v (%v)", names, rows.Err())
	}
	checkReads(t, conn, srv, []readCase{
		{`SELECT c_id, c_balance, c_first, c_middle, c_last FROM customer
		WHERE c_w_id = ? AND c_d_id = ? AND c_last = ? ORDER BY c_first`,
			[][]any{{1, 1, names[0]}, {1, 1, names[1]}, {1, 2, names[2]}, {1, 3, names[0]}, {1, 1, "NOBODY"}}},
		{`SELECT c_id, c_balance, c_first, c_middle, c_last FROM customer
		WHERE c_w_id = ? AND c_d_id = ? AND c_id = ?`, [][]any{{1, 1, 1}, {1, 2, customers}, {1, 1, customers + 1}, {2, 1, 1}}},
		{`SELECT o_id, o_carrier_id, o_entry_d FROM orders
		WHERE o_w_id = ? AND o_d_id = ? AND o_c_id = ? ORDER BY o_id DESC LIMIT 1`, [][]any{{1, 1, 1}, {1, 2, 500}, {1, 1, customers + 1}}},
		{`SELECT ol_i_id, ol_supply_w_id, ol_quantity, ol_amount, ol_delivery_d FROM order_line
		WHERE ol_w_id = ? AND ol_d_id = ? AND ol_o_id = ?`, [][]any{{1, 1, 1}, {1, 2, customers}, {1, 1, customers + 1}}},
		{`SELECT d_next_o_id FROM district WHERE d_w_id = ? AND d_id = ?`, [][]any{{1, 1}, {1, 2}, {1, 3}}},
		{`SELECT o_id, o_c_id FROM orders WHERE o_w_id = ? AND o_d_id = ? AND o_id >= ? ORDER BY o_c_id`, [][]any{{1, 1, 1000}, {1, 2, 1}}},
		{`SELECT COUNT(*), SUM(ol_amount), AVG(ol_quantity) FROM order_line WHERE ol_w_id = ? AND ol_d_id = ? AND ol_o_id BETWEEN ? AND ?`,
			[][]any{{1, 1, 1, 20}, {1, 2, 900, 1100}}},
		{`SELECT DISTINCT ol_i_id FROM order_line WHERE ol_w_id = ? AND ol_d_id = ? AND ol_o_id < ? AND ol_o_id >= ?`,
			[][]any{{1, 1, 1001, 981}, {1, 2, 21, 1}}},
		{`SELECT c_first, c_id FROM customer WHERE c_w_id = ? AND c_d_id = ? AND c_last = ? LIMIT 2`,
			[][]any{{1, 1, names[0]}, {1, 2, names[1]}}},
	})
}
