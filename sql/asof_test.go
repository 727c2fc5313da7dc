package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	imagosql "github.com/imagodb/imago/sql"
)

// pastFixture is a shop served with its past states (Config.Past), its
// envelopes stamped by a clock that advances a millisecond per command.
type pastFixture struct {
	dir  string
	db   *imago.DB
	srv  *imagosql.Server
	addr string
	conn *gosql.DB
}

var pastBase = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func stepClock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return pastBase.Add(time.Duration(n.Add(1)) * time.Millisecond) }
}

func (f *pastFixture) start(t *testing.T) {
	t.Helper()
	db, err := imago.Open(f.dir, shop.App(), imago.Options{Now: stepClock()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "shop", Tables: db.Tables(), Source: db, Past: db,
		SystemTables: []imagosql.PackedTable{{Name: "idempotency_keys", Columns: applier.IdempotencyKeyColumns,
			Stored: applier.IdempotencyKeys, Unpack: applier.UnpackIdempotencyKeys}},
		Log: db.Envelopes(), Audit: db, Version: "test", MaxChangesCommands: 500})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	f.db, f.srv, f.addr = db, srv, srv.Addr()
	f.conn = f.open(t, "shop")
}

func (f *pastFixture) stop() {
	f.conn.Close()
	f.srv.Close()
	f.db.Close()
}

func (f *pastFixture) open(t *testing.T, database string) *gosql.DB {
	t.Helper()
	conn, err := gosql.Open("mysql", fmt.Sprintf("root:@tcp(%s)/%s?parseTime=true", f.addr, database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rows is a query's result as text, one line per row.
func rows(t *testing.T, conn interface {
	QueryContext(context.Context, string, ...any) (*gosql.Rows, error)
}, query string, args ...any) string {
	t.Helper()
	rs, err := conn.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var b strings.Builder
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%v|", v)
		}
		b.WriteByte('\n')
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return b.String()
}

// stateQuery reads a state: the products, the orders and their lines.
const stateQuery = `SELECT 'p', sku, stock, price_cents, '' FROM products%[1]s
UNION ALL SELECT 'o', order_id, status, total_cents, customer_id FROM orders%[1]s
UNION ALL SELECT 'l', order_id, line_no, quantity, sku FROM order_lines%[1]s
ORDER BY 1, 2, 3`

// TestAsOfSQL: during a workload the present is read at many seqs; every
// AS OF read gives the same rows, across a checkpoint and a restart, as
// does a client connected to shop@N; times resolve; joins mix past and
// present; the edges are errors naming what is reachable; AS OF ? is
// refused and the connection lives on.
func TestAsOfSQL(t *testing.T) {
	f := &pastFixture{dir: t.TempDir()}
	f.start(t)
	ctx := context.Background()
	for _, c := range workload.Setup(20, 10) {
		if _, err := f.db.Submit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	recorded := map[uint64]string{}
	g := workload.New("sql", 3, 20, 10)
	for i := range 400 {
		f.db.Submit(ctx, g.Next())
		if i%40 == 0 {
			recorded[f.db.View().Seq] = rows(t, f.conn, fmt.Sprintf(stateQuery, ""))
		}
		if i == 200 {
			if _, err := f.db.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func() {
		for seq, want := range recorded {
			if got := rows(t, f.conn, fmt.Sprintf(stateQuery, fmt.Sprintf(" AS OF %d", seq))); got != want {
				t.Fatalf("AS OF %d:\n%s\nwant\n%s", seq, got, want)
			}
			past := f.open(t, fmt.Sprintf("shop@%d", seq))
			if got := rows(t, past, fmt.Sprintf(stateQuery, "")); got != want {
				t.Fatalf("connected to shop@%d:\n%s\nwant\n%s", seq, got, want)
			}
			past.Close()
		}
	}
	check()
	f.stop()
	f.start(t)
	defer f.stop()
	check()

	// The seq at a time: the clock gave seq n the time base + n ms (one
	// reading per accepted command: refused ones read it too).
	var seq uint64
	var at time.Time
	if err := f.conn.QueryRow("SELECT seq, time FROM imago.commands WHERE seq = 100").Scan(&seq, &at); err != nil {
		t.Fatal(err)
	}
	want := rows(t, f.conn, "SELECT order_id, status FROM orders AS OF 100 ORDER BY order_id")
	for _, q := range []string{
		"SELECT order_id, status FROM orders AS OF '%s' ORDER BY order_id",
		"SELECT order_id, status FROM orders AS OF TIMESTAMP('%s') ORDER BY order_id",
		"SELECT order_id, status FROM orders FOR SYSTEM_TIME AS OF '%s' ORDER BY order_id",
		"SELECT order_id, status FROM `shop@%s`.orders ORDER BY order_id",
	} {
		text := at.UTC().Format("2006-01-02 15:04:05.000000")
		if strings.Contains(q, "shop@") {
			text = at.UTC().Format(time.RFC3339Nano)
		}
		if got := rows(t, f.conn, fmt.Sprintf(q, text)); got != want {
			t.Fatalf("%s:\n%s\nwant (AS OF 100)\n%s", fmt.Sprintf(q, text), got, want)
		}
	}

	// Past and present in one statement: a join, a subquery, a CTE.
	for _, q := range []string{
		"SELECT COUNT(*) FROM orders o JOIN orders AS OF 100 p ON o.order_id = p.order_id WHERE o.status <> p.status",
		"SELECT COUNT(*) FROM orders WHERE order_id NOT IN (SELECT order_id FROM orders AS OF 100)",
		"WITH earlier AS (SELECT order_id, status FROM orders AS OF 100) SELECT COUNT(*) FROM orders o JOIN earlier b USING (order_id) WHERE o.status <> b.status",
	} {
		if got := rows(t, f.conn, q); got == "" {
			t.Fatalf("%s: no rows", q)
		}
	}
	if n := rows(t, f.conn, "SELECT COUNT(*) FROM orders WHERE order_id NOT IN (SELECT order_id FROM orders AS OF 100)"); n == "0|\n" {
		t.Fatal("no order placed after seq 100?")
	}
	if got := rows(t, f.conn, "SHOW TABLES AS OF 0"); !strings.Contains(got, "orders") {
		t.Fatalf("SHOW TABLES AS OF 0: %s", got)
	}
	if got := rows(t, f.conn, "SELECT COUNT(*) FROM orders AS OF 0"); got != "0|\n" {
		t.Fatalf("orders as of 0: %s", got)
	}
	if got := rows(t, f.conn, "SELECT COUNT(*) FROM imago.idempotency_keys AS OF 5"); got != "0|\n" {
		t.Fatalf("idempotency keys as of 5: %s", got)
	}
	// USE a past database, then back.
	c, err := f.conn.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "USE `shop@100`"); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, c, "SELECT order_id, status FROM orders ORDER BY order_id"); got != want {
		t.Fatalf("USE shop@100:\n%s\nwant\n%s", got, want)
	}

	// Edges.
	durable := f.db.DurableSeq()
	for q, wantErr := range map[string]string{
		fmt.Sprintf("SELECT * FROM orders AS OF %d", durable+1):  "beyond the durable log",
		"SELECT * FROM orders AS OF '2999-01-01 00:00:00'":       "in the future",
		"SELECT * FROM orders AS OF '2020-01-01 00:00:00'":       "before the first command",
		"SELECT * FROM orders AS OF 'yesterday'":                 "want a seq",
		"SELECT * FROM imago.commands AS OF 5":                   "no past states",
		fmt.Sprintf("SELECT * FROM `shop@%d`.orders", durable+1): "beyond the durable log",
	} {
		_, err := f.conn.Exec(q)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("%s: want an error with %q, got %v", q, wantErr, err)
		}
		t.Logf("%s: %v", q, err)
	}

	// A prepared AS OF ? is refused; the connection lives on.
	_, err = c.QueryContext(ctx, "SELECT * FROM orders AS OF ? WHERE order_id = ?", 100, "x")
	if err == nil || !strings.Contains(err.Error(), "not a parameter") {
		t.Fatalf("AS OF ?: %v", err)
	}
	for _, c2 := range [][2]string{
		{"PREPARE s FROM 'SELECT * FROM orders AS OF ?'", "not a parameter"},
		{"SET @q = 'SELECT * FROM orders AS OF ?'", ""},
		{"PREPARE s FROM @q", "not a parameter or variable"},
	} {
		q, wantErr := c2[0], c2[1]
		if _, err := c.ExecContext(ctx, q); wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Fatalf("%s: want %q, got %v", q, wantErr, err)
		}
	}
	if got := rows(t, c, "SELECT COUNT(*) FROM orders AS OF 100"); got == "" {
		t.Fatal("the connection died")
	}
}
