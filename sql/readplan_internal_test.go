package sql

import (
	"context"
	"errors"
	"testing"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/bench/sbtest"
	"github.com/imagodb/imago/examples/tpcc"
)

func TestMatchReadPlan(t *testing.T) {
	app := newDatabase("sbtest", nil, sbtest.App().Tables)
	for q, want := range map[string]bool{
		"SELECT c FROM sbtest1 WHERE id=?":                                          true,
		"SELECT id, k, c, pad FROM sbtest.sbtest1 WHERE id = ?":                     true,
		"SELECT sbtest1.c FROM sbtest1 WHERE sbtest1.id = ?":                        true,
		"SELECT * FROM sbtest1 WHERE id = ?":                                        true,
		"SELECT c AS x FROM sbtest1 WHERE id = ?":                                   true, // names come from GMS
		"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?":                            true,
		"SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?":                       true,
		"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c":                 true,
		"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c":        true,
		"SELECT COUNT(*), MIN(c), MAX(k), AVG(k) FROM sbtest1 WHERE id > ?":         true,
		"SELECT c FROM sbtest1 WHERE id >= ? AND id < ? ORDER BY k DESC, c":         true,
		"SELECT c FROM sbtest1 WHERE k = ?":                                         true, // the secondary index k_1
		"SELECT c FROM sbtest1 WHERE k BETWEEN ? AND ? ORDER BY c":                  true,
		"SELECT c FROM sbtest1 WHERE id = ? LIMIT 1":                                true,
		"SELECT c FROM sbtest1 WHERE id > ? ORDER BY id DESC LIMIT 10":              true,  // no ties: the key is sorted on
		"SELECT c FROM sbtest1 WHERE k = ? ORDER BY c LIMIT 1":                      false, // ties: TopN's order is not a stable sort's
		"SELECT c FROM sbtest1 WHERE id > ? LIMIT ?":                                false,
		"SELECT c FROM sbtest1 WHERE id > ? LIMIT 1, 2":                             false,
		"SELECT COUNT(*) FROM sbtest1 WHERE id > ? LIMIT 1":                         false,
		"SELECT c FROM sbtest1 WHERE id = ? AND k = ?":                              false, // k is not in the primary key
		"SELECT c FROM sbtest1 WHERE c = ?":                                         false, // no index leads with c
		"SELECT c FROM sbtest1 WHERE id = ? AND id > ?":                             false,
		"SELECT c FROM sbtest1 WHERE id = 5":                                        false, // no parameter
		"SELECT c FROM sbtest1 WHERE id > ? AND id > ?":                             false, // two lower bounds
		"SELECT c FROM sbtest1 WHERE id > ? OR id < ?":                              false,
		"SELECT c FROM sbtest1 WHERE id NOT BETWEEN ? AND ?":                        false,
		"SELECT UPPER(c) FROM sbtest1 WHERE id = ?":                                 false,
		"SELECT c FROM other.sbtest1 WHERE id = ?":                                  false,
		"SELECT c FROM sbtest1 x WHERE id = ?":                                      false,
		"SELECT k AS c FROM sbtest1 WHERE id > ? ORDER BY c":                        false, // c would be the alias
		"SELECT DISTINCT c FROM sbtest1 WHERE id > ? ORDER BY k":                    false, // MySQL refuses it
		"SELECT k, SUM(k) FROM sbtest1 WHERE id > ?":                                false, // GROUP BY semantics
		"SELECT SUM(DISTINCT k) FROM sbtest1 WHERE id > ?":                          false,
		"SELECT SUM(k) FROM sbtest1 WHERE id > ? ORDER BY k":                        false,
		"SELECT GROUP_CONCAT(c) FROM sbtest1 WHERE id > ?":                          false,
		"SELECT c FROM sbtest1 WHERE id > ? GROUP BY c":                             false,
		"SELECT c FROM sbtest1 WHERE id > ? ORDER BY 1":                             false,
		"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? FOR UPDATE":                 false,
		"SELECT SQL_CALC_FOUND_ROWS c FROM sbtest1 WHERE id > ?":                    false,
		"SELECT c FROM sbtest1 WHERE id > ? UNION SELECT c FROM sbtest1 WHERE id<?": false,
	} {
		if got := matchReadPlan(app, "sbtest", q) != nil; got != want {
			t.Errorf("%s: plan %v, want %v", q, got, want)
		}
	}
}

// TestReadPlanStopsWhenCancelled: a long range stops at the statement's
// cancellation (the query time limit) with the context's error, before
// sending anything.
func TestReadPlanStopsWhenCancelled(t *testing.T) {
	db, err := imago.Open(t.TempDir(), sbtest.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Submit(context.Background(), &sbtest.InsertRows{Rows: sbtest.Generate(1, 1000, 1, 1000)}); err != nil {
		t.Fatal(err)
	}
	app := newDatabase("sbtest", db, db.Tables())
	plan := matchReadPlan(app, "sbtest", "SELECT c FROM sbtest1 WHERE id > ?")
	if plan == nil {
		t.Fatal("no plan")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &session{BaseSession: gsql.NewBaseSession(), src: db}
	emitted := 0
	ok, err := plan.run(ctx, s, map[string]*querypb.BindVariable{"v1": sqltypes.Int64BindVariable(0)},
		[]gsql.Type{app.tables["sbtest1"].(*table).schema[2].Type}, func(rows [][]sqltypes.Value) error {
			emitted += len(rows)
			return nil
		})
	if !ok || !errors.Is(err, context.Canceled) || emitted != 0 {
		t.Fatalf("run: ok %v, err %v, %d rows sent; want the cancellation and nothing sent", ok, err, emitted)
	}
}

// TestMatchReadPlanIndexes: on composite keys the plan reads the index whose
// leading columns carry every condition, and refuses when none or several
// (of different orders) do.
func TestMatchReadPlanIndexes(t *testing.T) {
	app := newDatabase("tpcc", nil, tpcc.App().Tables)
	for _, tc := range []struct {
		query, index string // index "": no plan
		eq           int
	}{
		{"SELECT c_first FROM customer WHERE c_w_id = ? AND c_d_id = ? AND c_id = ?", "PRIMARY", 3},
		{"SELECT c_first FROM customer WHERE c_id = ? AND c_d_id = ? AND c_w_id = ?", "PRIMARY", 3},
		{"SELECT c_first FROM customer WHERE c_w_id = ? AND c_d_id = ? AND c_last = ? ORDER BY c_first", "idx_customer", 3},
		{"SELECT c_first FROM customer WHERE c_w_id = ? AND c_d_id = ? AND c_id > ?", "PRIMARY", 2},
		{"SELECT o_id FROM orders WHERE o_w_id = ? AND o_d_id = ? AND o_c_id = ? ORDER BY o_id DESC LIMIT 1", "idx_order", 3},
		{"SELECT ol_i_id FROM order_line WHERE ol_w_id = ? AND ol_d_id = ? AND ol_o_id = ?", "PRIMARY", 3},
		{"SELECT ol_i_id FROM order_line WHERE ol_w_id = ? AND ol_d_id = ? AND ol_o_id < ? AND ol_o_id >= ?", "PRIMARY", 2},
		{"SELECT c_first FROM customer WHERE c_w_id = ? AND c_d_id = ?", "", 0},                                      // primary and idx_customer both lead so
		{"SELECT c_first FROM customer WHERE c_w_id = ? AND c_id = ?", "", 0},                                        // a gap in the key
		{"SELECT c_first FROM customer WHERE c_w_id = ? AND c_d_id > ? AND c_id = ?", "", 0},                         // a range before an equality
		{"SELECT o_id FROM orders WHERE o_w_id = ? AND o_d_id = ? AND o_c_id = ? ORDER BY o_entry_d LIMIT 1", "", 0}, // ties
	} {
		p := matchReadPlan(app, "tpcc", tc.query)
		switch {
		case p == nil && tc.index != "":
			t.Errorf("%s: no plan, want one reading %s", tc.query, tc.index)
		case p != nil && tc.index == "":
			t.Errorf("%s: a plan reading %s, want none", tc.query, p.ix.ix.Name)
		case p != nil && (p.ix.ix.Name != tc.index || len(p.eq) != tc.eq):
			t.Errorf("%s: reads %s with %d equalities, want %s with %d", tc.query, p.ix.ix.Name, len(p.eq), tc.index, tc.eq)
		}
	}
}

// BenchmarkReadPlan runs the read plans of sysbench's oltp_read_only
// statements on 100,000 sbtest rows without the network, and reports the
// allocations and bytes each execution costs (ns/op is one statement).
func BenchmarkReadPlan(b *testing.B) {
	const size = 100_000
	db, err := imago.Open(b.TempDir(), sbtest.App(), imago.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for first := 1; first <= size; first += sbtest.MaxRows {
		if _, err := db.Submit(context.Background(), &sbtest.InsertRows{Rows: sbtest.Generate(1, size, first, sbtest.MaxRows)}); err != nil {
			b.Fatal(err)
		}
	}
	app := newDatabase("sbtest", db, db.Tables())
	s := &session{BaseSession: gsql.NewBaseSession(), src: db}
	for _, q := range []string{
		"SELECT c FROM sbtest1 WHERE id=?",
		"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?",
		"SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?",
		"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
		"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
	} {
		b.Run(q, func(b *testing.B) {
			plan := matchReadPlan(app, "sbtest", q)
			if plan == nil {
				b.Fatal("no plan")
			}
			var fields []*querypb.Field
			ctx := gsql.NewEmptyContext()
			for _, c := range plan.cols {
				fields = append(fields, &querypb.Field{Type: plan.table.schema[c].Type.Type()})
			}
			for _, agg := range plan.aggs {
				fields = append(fields, &querypb.Field{Type: agg.Type(ctx).Type()})
			}
			types := plan.resultTypes(fields)
			b.ReportAllocs()
			rows := 0
			for i := 0; b.Loop(); i++ {
				lo := int64(1 + (i*7919)%(size-100))
				params := map[string]*querypb.BindVariable{"v1": sqltypes.Int64BindVariable(lo), "v2": sqltypes.Int64BindVariable(lo + 99)}
				if plan.params == 1 {
					delete(params, "v2")
				}
				ok, err := plan.run(context.Background(), s, params, types, func(r [][]sqltypes.Value) error {
					rows += len(r)
					return nil
				})
				if !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
			if rows == 0 {
				b.Fatal("no rows")
			}
		})
	}
}
