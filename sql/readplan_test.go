package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/bench/sbtest"
	imagosql "github.com/imagodb/imago/sql"
)

// TestSysbenchReads: the statements of sysbench's oltp_read_only, and
// results larger than one streamed batch, answer through the prepared read
// plans exactly what GMS answers through the text protocol.
func TestSysbenchReads(t *testing.T) {
	const rows = 2000
	db, err := imago.Open(t.TempDir(), sbtest.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for first := 1; first <= rows; first += sbtest.MaxRows {
		if _, err := db.Submit(context.Background(), &sbtest.InsertRows{Rows: sbtest.Generate(1, rows, first, sbtest.MaxRows)}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "sbtest", Tables: db.Tables(), Source: db, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	conn, err := gosql.Open("mysql", fmt.Sprintf("root@tcp(%s)/sbtest", srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	for _, tc := range []struct {
		query string
		args  [][]any
	}{
		{"SELECT c FROM sbtest1 WHERE id=?", [][]any{{1}, {rows}, {rows + 1}, {777}}},
		{"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?", [][]any{{1, 100}, {1950, 2050}, {10, 9}}},
		{"SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?", [][]any{{1, 100}, {5000, 6000}}},
		{"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c", [][]any{{1, 100}, {300, 1999}}},
		{"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c", [][]any{{1, 100}, {1, rows}}},
		{"SELECT DISTINCT k FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY k DESC", [][]any{{1, rows}}},
		{"SELECT * FROM sbtest1 WHERE id >= ?", [][]any{{1}, {rows - 300}, {rows - 255}, {rows - 511}}}, // batches of 256
		{"SELECT id, pad FROM sbtest1 WHERE id < ? AND id > ?", [][]any{{rows, 0}, {600, 100}}},
	} {
		stmt, err := conn.Prepare(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		defer stmt.Close()
		for _, args := range append(tc.args, tc.args[0]) { // the first execution is GMS's
			text := tc.query
			for _, a := range args {
				text = strings.Replace(text, "?", fmt.Sprint(a), 1)
			}
			want, err := rowStrings(conn.Query(text))
			if err != nil {
				t.Fatalf("%s: %v", text, err)
			}
			got, err := rowStrings(stmt.Query(args...))
			if err != nil {
				t.Fatalf("%s %v: %v", tc.query, args, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s %v: prepared answer (%d rows) differs from text (%d rows)", tc.query, args, len(got), len(want))
			}
		}
	}
	if srv.PlannedReads() == 0 {
		t.Error("no execution went through the read plans")
	}
}
