package sql_test

import (
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	imagosql "github.com/imagodb/imago/sql"
)

// fixture is a shop database with data, served over a real MySQL listener and
// reached through go-sql-driver/mysql.
type fixture struct {
	db   *imago.DB
	addr string
	conn *gosql.DB
}

// newFixture serves the shop as root without a password; configure changes
// the server's configuration first.
func newFixture(t *testing.T, configure ...func(*imagosql.Config)) *fixture {
	t.Helper()
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	for _, c := range workload.Setup(40, 20) {
		if _, err := db.Submit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	g := workload.New("t", 1, 40, 20)
	for i := 0; i < 300; i++ {
		db.Submit(ctx, g.Next()) // refusals are part of the mix
	}
	cfg := imagosql.Config{Addr: "127.0.0.1:0", Database: "shop", Tables: db.Tables(), Source: db, Log: db.Envelopes(), Version: "test"}
	for _, c := range configure {
		c(&cfg)
	}
	srv, err := imagosql.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	f := &fixture{db: db, addr: srv.Addr()}
	f.conn = f.open(t, "root", "")
	return f
}

// open connects as user with password to the shop database.
func (f *fixture) open(t *testing.T, user, password string, params ...string) *gosql.DB {
	t.Helper()
	dsn := fmt.Sprintf("%s:%s@tcp(%s)/shop?parseTime=true", user, password, f.addr)
	for _, p := range params {
		dsn += "&" + p
	}
	conn, err := gosql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func (f *fixture) scalar(t *testing.T, query string, args ...any) string {
	t.Helper()
	var s gosql.NullString
	if err := f.conn.QueryRow(query, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s.String
}

func TestQueriesMatchTheImage(t *testing.T) {
	f := newFixture(t)
	snap := f.db.View().Snapshot
	for _, tb := range f.db.Tables() {
		got := f.scalar(t, "SELECT COUNT(*) FROM "+tb.Name())
		if want := fmt.Sprint(snap.Count(tb)); got != want {
			t.Errorf("COUNT(*) FROM %s = %s, want %s", tb.Name(), got, want)
		}
	}
	// Sum of line totals per order equals the order total, for every order:
	// a join and an aggregate over the composite-key table.
	bad := f.scalar(t, `SELECT COUNT(*) FROM orders o JOIN
		(SELECT order_id, SUM(quantity*price_cents) AS s FROM order_lines GROUP BY order_id) l
		ON l.order_id = o.order_id WHERE l.s <> o.total_cents`)
	if bad != "0" {
		t.Fatalf("%s orders whose lines do not add up", bad)
	}
	c, _, _ := shop.Customers.Get(snap, workload.CustomerID(7))
	var name, email, country string
	var registered time.Time
	err := f.conn.QueryRow("SELECT name, email, country, registered_at FROM customers WHERE customer_id = ?", c.CustomerID).
		Scan(&name, &email, &country, &registered)
	if err != nil || name != c.Name || email != c.Email || country != c.Country || !registered.Equal(c.RegisteredAt) {
		t.Fatalf("customer row: %v %q %q %q %v, want %+v", err, name, email, country, registered, c)
	}
}

// TestIndexRangesAreExact compares index-served predicates with a full scan
// that cannot use an index (the column wrapped in an expression).
func TestIndexRangesAreExact(t *testing.T) {
	f := newFixture(t)
	mid := f.scalar(t, "SELECT CONCAT(placed_at) FROM orders ORDER BY placed_at LIMIT 1 OFFSET 40")
	cases := []struct{ table, indexed, scan string }{
		{"orders", "placed_at >= '" + mid + "'", "CONCAT(placed_at) >= '" + mid + "'"},
		{"orders", "placed_at < '" + mid + "'", "CONCAT(placed_at) < '" + mid + "'"},
		{"orders", "status = 'paid'", "CONCAT(status) = 'paid'"},
		{"orders", "status IN ('paid', 'shipped')", "CONCAT(status) IN ('paid', 'shipped')"},
		{"orders", "status > 'paid'", "CONCAT(status) > 'paid'"},
		{"orders", "customer_id BETWEEN 'c-000010' AND 'c-000019'", "CONCAT(customer_id) BETWEEN 'c-000010' AND 'c-000019'"},
		{"orders", "order_id = 'o-t-5'", "CONCAT(order_id) = 'o-t-5'"},
		{"orders", "cancelled_at IS NULL", "CONCAT(cancelled_at) IS NULL"},
		{"order_lines", "order_id = 'o-t-3'", "CONCAT(order_id) = 'o-t-3'"},
		{"order_lines", "order_id = 'o-t-3' AND line_no >= 2", "CONCAT(order_id) = 'o-t-3' AND line_no + 0 >= 2"},
		{"order_lines", "sku = 'sku-00003'", "CONCAT(sku) = 'sku-00003'"},
	}
	for _, c := range cases {
		got := f.scalar(t, "SELECT COUNT(*) FROM "+c.table+" WHERE "+c.indexed)
		want := f.scalar(t, "SELECT COUNT(*) FROM "+c.table+" WHERE "+c.scan)
		if got != want || want == "0" {
			t.Errorf("%s WHERE %s: %s rows, full scan says %s (and must find some)", c.table, c.indexed, got, want)
		}
	}
}

func TestExplainShowsIndexAccess(t *testing.T) {
	f := newFixture(t)
	for _, q := range []struct{ query, index string }{
		{"SELECT * FROM customers WHERE customer_id = 'c-000001'", "[customers.customer_id]"},
		{"SELECT * FROM customers WHERE country = 'DE'", "[customers.country]"},
		{"SELECT * FROM orders WHERE placed_at >= '2026-01-01' AND placed_at < '2027-01-01'", "[orders.placed_at]"},
		{"SELECT * FROM order_lines WHERE order_id = 'o-t-1'", "[order_lines.order_id,order_lines.line_no]"},
		// imago.commands reads the log: a seq range bounds the log iterator,
		// a condition on name is checked before payloads are decoded.
		{"SELECT * FROM imago.commands WHERE seq BETWEEN 5 AND 9", "[commands.seq]"},
		{"SELECT seq FROM imago.commands WHERE name = 'pay_order'", "[commands.name]"},
	} {
		rows, err := f.conn.Query("EXPLAIN PLAN " + q.query)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			rows.Scan(&line)
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), "IndexedTableAccess") || !strings.Contains(plan.String(), "index: "+q.index) {
			t.Errorf("%s: plan does not use index %s:\n%s", q.query, q.index, plan.String())
		}
	}
}

func TestReadOnly(t *testing.T) {
	f := newFixture(t)
	before := f.db.View()
	for _, stmt := range []string{
		"INSERT INTO customers VALUES ('x', 'x', 'x@y', 'DE', NOW())",
		"UPDATE products SET stock = 0",
		"DELETE FROM orders",
		"CREATE TABLE t (id INT PRIMARY KEY)",
		"DROP TABLE customers",
		"ALTER TABLE customers ADD COLUMN x INT",
		"SET GLOBAL max_connections = 1",
		"SET @@GLOBAL.sql_mode = ''",
		"SELECT LOAD_FILE('/etc/passwd')",
		"SELECT * FROM customers INTO OUTFILE '/tmp/imago-outfile-test'",
		"ANALYZE TABLE customers",
		"CREATE TEMPORARY TABLE scratch (id INT)",
		"CREATE USER evil IDENTIFIED BY 'x'",
		"GRANT ALL ON *.* TO root",
		"CREATE VIEW v AS SELECT 1",
		"CREATE PROCEDURE p() SELECT 1",
	} {
		_, err := f.conn.Exec(stmt)
		if err == nil || !strings.Contains(err.Error(), "POST /v1/commands") || !strings.Contains(err.Error(), "1290") {
			t.Errorf("%s: got %v, want the read-only refusal naming the write API", stmt, err)
		}
	}
	after := f.db.View()
	h1, _ := before.Snapshot.Hash()
	h2, _ := after.Snapshot.Hash()
	if h1 != h2 || before.Seq != after.Seq {
		t.Fatal("a refused statement changed the image")
	}
	if got := f.scalar(t, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'shop'"); got != "4" {
		t.Fatalf("shop has %s tables after the refused DDL, want 4", got)
	}
	if v := f.scalar(t, "SELECT @@version_comment"); !strings.HasPrefix(v, "Imago") {
		t.Fatalf("@@version_comment = %q", v)
	}
	// Defence in depth behind the guard: no directory is allowed for file I/O.
	if v := f.scalar(t, "SELECT @@secure_file_priv"); v != "/dev/null/imago-no-file-access" {
		t.Fatalf("@@secure_file_priv = %q", v)
	}
	// SQL reads hand stored rows to the engine; the invariant shows they were
	// not modified in place.
	if err := f.db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}

// TestStatementSeesOneSnapshot: a statement keeps reading the snapshot it
// started with while the writer publishes new ones.
func TestStatementSeesOneSnapshot(t *testing.T) {
	f := newFixture(t)
	tx, err := f.conn.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var before int
	if err := tx.QueryRow("SELECT COUNT(*) FROM customers").Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Submit(context.Background(), &shop.RegisterCustomer{CustomerID: "late", Name: "L", Email: "late@example.com", Country: "DE"}); err != nil {
		t.Fatal(err)
	}
	// A prepared primary-key lookup (a read plan from its second
	// run) reads the transaction's snapshot too.
	lookup, err := tx.Prepare("SELECT name FROM customers WHERE customer_id = ?")
	if err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 3; run++ {
		var name string
		if err := lookup.QueryRow("late").Scan(&name); err != gosql.ErrNoRows {
			t.Fatalf("run %d: the transaction sees a later customer: %q, %v", run, name, err)
		}
	}
	outsideLookup, err := f.conn.Prepare("SELECT name FROM customers WHERE customer_id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer outsideLookup.Close()
	for run := 0; run < 3; run++ {
		var name string
		if err := outsideLookup.QueryRow("late").Scan(&name); err != nil || name != "L" {
			t.Fatalf("run %d outside the transaction: %q, %v", run, name, err)
		}
	}
	var inTx, outside int
	if err := tx.QueryRow("SELECT COUNT(*) FROM customers").Scan(&inTx); err != nil {
		t.Fatal(err)
	}
	if err := f.conn.QueryRow("SELECT COUNT(*) FROM customers").Scan(&outside); err != nil {
		t.Fatal(err)
	}
	if inTx != before || outside != before+1 {
		t.Fatalf("in transaction %d (want %d), outside %d (want %d)", inTx, before, outside, before+1)
	}
	// The log as a table stops at the transaction's snapshot too: customers
	// are only ever added by register_customer, refusals are not logged.
	const logged = `SELECT COUNT(*), (SELECT value FROM imago.status WHERE name = 'last_seq'),
		(SELECT COUNT(*) FROM imago.commands) FROM imago.commands WHERE name = 'register_customer'`
	var registered, lastSeq, entries int
	if err := tx.QueryRow(logged).Scan(&registered, &lastSeq, &entries); err != nil {
		t.Fatal(err)
	}
	if registered != before || entries != lastSeq || uint64(lastSeq) != f.db.View().Seq-1 {
		t.Fatalf("in transaction: %d register_customer entries (want %d), last_seq %d, %d entries (want %d)",
			registered, before, lastSeq, entries, f.db.View().Seq-1)
	}
}

// TestJoinsConsistentUnderWrites: while a writer places orders (an order and
// its lines in one command), every join of orders and order_lines sees both
// or neither. A torn read needs a publish to fall between the reads of the
// two tables, so this test catches broken pinning only by chance; it is here
// for reads under concurrent writes (with -race). TestStatementSeesOneSnapshot
// checks pinning deterministically.
func TestJoinsConsistentUnderWrites(t *testing.T) {
	f := newFixture(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		g := workload.New("w", 7, 40, 20)
		for {
			select {
			case <-stop:
				return
			default:
				f.db.Submit(context.Background(), g.PlaceOrder())
			}
		}
	}()
	const torn = `SELECT
		(SELECT COUNT(*) FROM orders o LEFT JOIN
			(SELECT order_id, SUM(quantity*price_cents) AS s FROM order_lines GROUP BY order_id) l
			ON l.order_id = o.order_id WHERE l.s IS NULL OR l.s <> o.total_cents)
		+ (SELECT COUNT(*) FROM order_lines ol LEFT JOIN orders o ON o.order_id = ol.order_id WHERE o.order_id IS NULL)`
	seqBefore := f.db.View().Seq
	for i := 0; i < 30; i++ {
		if n := f.scalar(t, torn); n != "0" {
			close(stop)
			t.Fatalf("query %d saw %s orders and lines from different states", i, n)
		}
	}
	close(stop)
	<-done
	if f.db.View().Seq == seqBefore {
		t.Fatal("no writes happened during the reads; the test proved nothing")
	}
}

// TestBadInput: each mistake gets a MySQL error naming the problem, and the
// connection keeps working afterwards.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.conn.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []struct {
		query string
		code  uint16
		says  string
	}{
		{"SELEC 1", 1064, "syntax error"},
		{"SELECT * FROM nope", 1146, "nope"},
		{"SELECT * FROM nodb.orders", 1049, "nodb"},
		{"USE nodb", 1049, "nodb"},
		{"SELECT nope FROM orders", 1054, "nope"},
		{"SELECT JSON_EXTRACT('{not json', '$')", 3141, "JSON"},
		{"SELECT * FROM orders WHERE placed_at > DATE_ADD('x', INTERVAL 'y' DAY) AND 1 = (SELECT 1, 2)", 1241, "1 column"},
	} {
		var v any
		err := c.QueryRowContext(ctx, q.query).Scan(&v)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || !strings.Contains(strings.ToLower(me.Message), strings.ToLower(q.says)) {
			t.Errorf("%s: %v, want a MySQL error saying %q", q.query, err, q.says)
		} else if me.Number != q.code {
			t.Errorf("%s: error %d (%s), want %d", q.query, me.Number, me.Message, q.code)
		}
		var one int
		if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatalf("after %s the connection broke: %v", q.query, err)
		}
	}
}

// TestMalformedPackets: garbage on the wire ends that connection only.
func TestMalformedPackets(t *testing.T) {
	f := newFixture(t)
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		{0xff, 0xff, 0xff, 0x01, 0x00},                              // a 16 MiB packet that never comes
		{0x01, 0x00, 0x00, 0x01, 0x03},                              // a handshake response of one byte
		append([]byte{0x20, 0x00, 0x00, 0x01}, make([]byte, 32)...), // zeros
	} {
		nc, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		greeting := make([]byte, 4096)
		if _, err := nc.Read(greeting); err != nil {
			t.Fatalf("no handshake: %v", err)
		}
		nc.Write(junk)
		if tcp, ok := nc.(*net.TCPConn); ok {
			tcp.CloseWrite()
		}
		io.Copy(io.Discard, nc) // the server answers or hangs up; it must not hang
		nc.Close()
	}
	if got := f.scalar(t, "SELECT COUNT(*) FROM orders"); got == "" {
		t.Fatal("the server stopped serving after malformed packets")
	}
}

// TestConstantSelects: SELECTs of numbers answer the same every time (the
// second time from constantSelects' memory); statements that only look
// constant still reach GMS per connection.
func TestConstantSelects(t *testing.T) {
	f := newFixture(t)
	for _, q := range []string{"SELECT 1", "SELECT 1 AS one, 2.5, NULL", "select 7 from dual"} {
		var first [][]string
		for run := 0; run < 3; run++ {
			rows, err := f.conn.Query(q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			cols, _ := rows.Columns()
			got, err := rowStrings(rows, nil)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			got = append(got, cols)
			if run == 0 {
				first = got
			} else if fmt.Sprint(got) != fmt.Sprint(first) {
				t.Errorf("%s run %d: %v, first %v", q, run, got, first)
			}
		}
	}
	a, b := f.conn, f.open(t, "root", "")
	ids := map[int64]bool{}
	for _, c := range []*gosql.DB{a, b, a, b} {
		var id int64
		if err := c.QueryRow("SELECT CONNECTION_ID()").Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	if len(ids) < 2 {
		t.Errorf("CONNECTION_ID() over two connections: %v", ids)
	}
}
