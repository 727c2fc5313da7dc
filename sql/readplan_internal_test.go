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
		"SELECT c FROM sbtest1 WHERE k = ?":                                         false, // not the primary key
		"SELECT c FROM sbtest1 WHERE id = 5":                                        false, // no parameter
		"SELECT c FROM sbtest1 WHERE id > ? AND id > ?":                             false, // two lower bounds
		"SELECT c FROM sbtest1 WHERE id > ? OR id < ?":                              false,
		"SELECT c FROM sbtest1 WHERE id NOT BETWEEN ? AND ?":                        false,
		"SELECT c FROM sbtest1 WHERE id = ? LIMIT 1":                                false,
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
