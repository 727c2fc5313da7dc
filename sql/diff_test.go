package sql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago/examples/shop/workload"
)

// TestDiffSQL: imago_diff between two points, applied to the orders of the
// first, gives the orders of the second, and lists only keys that differ;
// a point as a time is the seq it resolves to; one point twice differs in
// nothing; bad arguments are errors naming them.
func TestDiffSQL(t *testing.T) {
	f := startShop(t)
	defer f.stop()
	ctx := context.Background()
	g := workload.New("dif", 9, 20, 10)
	for range 500 {
		f.db.Submit(ctx, g.Next())
	}
	end := f.db.View().Seq
	orders := func(seq uint64) map[string]string { return ordersAt(t, f, seq) }
	for _, r := range [][2]uint64{{0, end}, {100, 300}, {300, 100}, {end - 5, end}, {200, 200}} {
		t.Run(fmt.Sprintf("%d..%d", r[0], r[1]), func(t *testing.T) {
			before, after := orders(r[0]), orders(r[1])
			state := maps.Clone(before)
			rs, err := f.conn.Query(fmt.Sprintf("SELECT JSON_UNQUOTE(JSON_EXTRACT(pk, '$[0]')), kind, after_row, from_seq, to_seq FROM imago_diff('orders', %d, %d)", r[0], r[1]))
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			n := 0
			for rs.Next() {
				var id, kind string
				var js []byte
				var from, to uint64
				if err := rs.Scan(&id, &kind, &js, &from, &to); err != nil {
					t.Fatal(err)
				}
				n++
				if from != r[0] || to != r[1] {
					t.Fatalf("from_seq %d to_seq %d", from, to)
				}
				if kind == "delete" {
					delete(state, id)
					continue
				}
				var row struct {
					Status string `json:"status"`
					Total  int64  `json:"total_cents"`
				}
				if err := json.Unmarshal(js, &row); err != nil {
					t.Fatal(err)
				}
				state[id] = fmt.Sprintf("%s|%d|", row.Status, row.Total)
				if kind == "update" && state[id] == before[id] {
					t.Fatalf("%s listed as updated, but status and total are the same: %s", id, before[id])
				}
			}
			if err := rs.Err(); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(state, after) {
				t.Fatalf("orders at %d plus %d differences: %d orders, want the %d at %d", r[0], n, len(state), len(after), r[1])
			}
			if (r[0] == r[1]) != (n == 0) {
				t.Fatalf("%d differences", n)
			}
		})
	}
	// Points as times: the seq each resolves to.
	var at time.Time
	if err := f.conn.QueryRow("SELECT time FROM imago.commands WHERE seq = 150").Scan(&at); err != nil {
		t.Fatal(err)
	}
	ts := at.UTC().Format("2006-01-02 15:04:05.000000")
	q := "SELECT pk, kind, before_row, after_row FROM imago_diff('products', %s, %s) ORDER BY pk"
	if got, want := rows(t, f.conn, fmt.Sprintf(q, "'"+ts+"'", "NOW()")), rows(t, f.conn, fmt.Sprintf(q, "150", fmt.Sprint(end))); got != want || want == "" {
		t.Fatalf("by time:\n%s\nby seq:\n%s", got, want)
	}
	for _, c := range []struct{ query, want string }{
		{"SELECT * FROM imago_diff('nope', 1, 2)", `no image table "nope"`},
		{"SELECT * FROM imago_diff('orders', 1)", "takes 3 arguments"},
		{"SELECT * FROM imago_diff('orders', 1, 99999999)", "beyond the durable log"},
		{"SELECT * FROM imago_diff('orders', 'monday', 2)", "want a seq"},
	} {
		if _, err := f.conn.Exec(c.query); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: %v, want %q", c.query, err, c.want)
		}
	}
}
