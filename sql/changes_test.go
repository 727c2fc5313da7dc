package sql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago/examples/shop/workload"
)

// TestChangesSQL: imago.changes over a range, applied to the orders as of
// the seq before it, gives the orders as of its end; a range of time
// selects the same rows as the range of seqs those times hold; a read
// without a range, or wider than the limit, is refused naming it.
func TestChangesSQL(t *testing.T) {
	f := startShop(t)
	defer f.stop()
	ctx := context.Background()
	g := workload.New("chg", 5, 20, 10)
	for i := range 600 {
		f.db.Submit(ctx, g.Next())
		if i == 300 {
			if _, err := f.db.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	end := f.db.View().Seq

	orders := func(seq uint64) map[string]string { return ordersAt(t, f, seq) }
	for _, r := range [][2]uint64{{1, 450}, {100, 400}, {end - 30, end}} {
		t.Run(fmt.Sprintf("%d..%d", r[0], r[1]), func(t *testing.T) {
			state := orders(r[0] - 1)
			rs, err := f.conn.Query(fmt.Sprintf("SELECT seq, kind, JSON_UNQUOTE(JSON_EXTRACT(pk, '$[0]')), after_row FROM imago.changes WHERE seq BETWEEN %d AND %d AND table_name = 'orders' ORDER BY seq", r[0], r[1]))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rs.Next() {
				var seq uint64
				var kind, id string
				var after []byte
				if err := rs.Scan(&seq, &kind, &id, &after); err != nil {
					t.Fatal(err)
				}
				if seq < r[0] || seq > r[1] {
					t.Fatalf("seq %d outside the range", seq)
				}
				n++
				if kind == "delete" {
					delete(state, id)
					continue
				}
				var row struct {
					Status string `json:"status"`
					Total  int64  `json:"total_cents"`
				}
				if err := json.Unmarshal(after, &row); err != nil {
					t.Fatalf("after_row %s: %v", after, err)
				}
				state[id] = fmt.Sprintf("%s|%d|", row.Status, row.Total)
			}
			if err := rs.Err(); err != nil {
				t.Fatal(err)
			}
			rs.Close()
			if want := orders(r[1]); !maps.Equal(state, want) {
				t.Fatalf("orders as of %d plus %d changes: %d orders, want the %d as of %d", r[0]-1, n, len(state), len(want), r[1])
			}
			if n == 0 {
				t.Fatal("no changes of orders")
			}
		})
	}

	// A range of time selects the rows of the seqs it holds.
	times := map[uint64]time.Time{}
	for _, seq := range []uint64{150, 250} {
		var at time.Time
		if err := f.conn.QueryRow("SELECT time FROM imago.changes WHERE seq = ? LIMIT 1", seq).Scan(&at); err != nil {
			// seq changed nothing: take its time from the log
			if err := f.conn.QueryRow("SELECT time FROM imago.commands WHERE seq = ?", seq).Scan(&at); err != nil {
				t.Fatal(err)
			}
		}
		times[seq] = at
	}
	q := "SELECT seq, table_name, kind, pk FROM imago.changes WHERE %s ORDER BY seq, table_name, pk"
	ts := func(seq uint64) string { return times[seq].UTC().Format("2006-01-02 15:04:05.000000") }
	for _, c := range [][2]string{
		{fmt.Sprintf("time >= '%s' AND time <= '%s'", ts(150), ts(250)), "seq BETWEEN 150 AND 250"},
		{fmt.Sprintf("time > '%s' AND time < '%s'", ts(150), ts(250)), "seq > 150 AND seq < 250"},
		{fmt.Sprintf("time BETWEEN '%s' AND '%s'", ts(150), ts(150)), "seq = 150"},
	} {
		got, want := rows(t, f.conn, fmt.Sprintf(q, c[0])), rows(t, f.conn, fmt.Sprintf(q, c[1]))
		if got != want || want == "" && c[1] != "seq = 150" {
			t.Fatalf("%s:\n%s\nwant (%s):\n%s", c[0], got, c[1], want)
		}
	}

	// Refusals name the limit and what to write.
	for _, c := range []struct{ query, want string }{
		{"SELECT COUNT(*) FROM imago.changes", "needs a range of seq or time"},
		{"SELECT COUNT(*) FROM imago.changes WHERE actor = 'x'", "needs a range of seq or time"},
		{"SELECT COUNT(*) FROM imago.changes WHERE seq > 0", "more than the 500"},
		{fmt.Sprintf("SELECT COUNT(*) FROM imago.changes WHERE seq BETWEEN 1 AND 100 OR seq BETWEEN %d AND %d", end-420, end), "more than the 500"},
	} {
		var n int
		err := f.conn.QueryRow(c.query).Scan(&n)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: %v, want an error saying %q", c.query, err, c.want)
		}
	}
	// The connection lives on, and a LIMIT stops the replay early.
	if got := rows(t, f.conn, "SELECT seq FROM imago.changes WHERE seq BETWEEN 1 AND 500 LIMIT 2"); len(slices.Collect(strings.Lines(got))) != 2 {
		t.Fatalf("LIMIT 2: %q", got)
	}
}

// startShop starts a pastFixture holding the shop's setup (20 customers,
// 10 products).
func startShop(t *testing.T) *pastFixture {
	t.Helper()
	f := &pastFixture{dir: t.TempDir()}
	f.start(t)
	for _, c := range workload.Setup(20, 10) {
		if _, err := f.db.Submit(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// ordersAt is the orders as of seq: order_id -> "status|total_cents|".
func ordersAt(t *testing.T, f *pastFixture, seq uint64) map[string]string {
	t.Helper()
	m := map[string]string{}
	for line := range strings.Lines(rows(t, f.conn, fmt.Sprintf("SELECT order_id, status, total_cents FROM orders AS OF %d", seq))) {
		id, rest, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "|")
		m[id] = rest
	}
	return m
}
