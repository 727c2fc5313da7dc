package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
	imagosql "github.com/imagodb/imago/sql"
)

// every has a column of each supported type.
var every = memdb.MustDefine(memdb.TableDef{
	Name: "every",
	Columns: []memdb.Column{
		{Name: "id", Type: memdb.BigIntUnsigned},
		{Name: "i", Type: memdb.Int, Nullable: true},
		{Name: "d", Type: memdb.Double, Nullable: true},
		{Name: "amount", Type: memdb.Decimal(10, 2), Nullable: true},
		{Name: "flag", Type: memdb.Boolean, Nullable: true},
		{Name: "bin", Type: memdb.Varbinary(16), Nullable: true},
		{Name: "blob", Type: memdb.Blob, Nullable: true},
		{Name: "txt", Type: memdb.Text, Nullable: true},
		{Name: "doc", Type: memdb.JSON, Nullable: true},
		{Name: "at", Type: memdb.Datetime, Nullable: true},
	},
	PrimaryKey: []string{"id"},
	Indexes:    []memdb.IndexDef{{Name: "d", Columns: []string{"d"}}, {Name: "at", Columns: []string{"at"}}},
})

type putRows struct {
	N int `json:"n"`
}

func (*putRows) Validate() error { return nil }

func (c *putRows) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	for i := 0; i < c.N; i++ {
		row := memdb.Row{uint64(i), int32(-i), float64(i) - 2.5, decimal.RequireFromString(fmt.Sprintf("%d.25", i)),
			int8(i % 2), []byte{byte(i), 0}, []byte("blob"), "text ü", fmt.Sprintf(`{"n": %d}`, i), env.Time.Add(time.Duration(i) * time.Second)}
		if err := tx.Insert(every, row); err != nil {
			return nil, err
		}
	}
	return nil, tx.Insert(every, memdb.Row{uint64(1000), nil, nil, nil, nil, nil, nil, nil, nil, nil})
}

// serveEvery serves the every table with rows 0..4 and an all-NULL row 1000,
// stamped at the returned time.
func serveEvery(t *testing.T) (*gosql.DB, time.Time) {
	t.Helper()
	conn, _, at := serveEveryServer(t)
	return conn, at
}

// serveEveryServer is serveEvery with the server, for its counters.
func serveEveryServer(t *testing.T) (*gosql.DB, *imagosql.Server, time.Time) {
	t.Helper()
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	app := &imago.App{Name: "types", Tables: []*memdb.Table{every}, Commands: []commands.Definition{commands.Define[putRows]("put_rows", 1)}}
	db, err := imago.Open(t.TempDir(), app, imago.Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Submit(context.Background(), &putRows{N: 5}); err != nil {
		t.Fatal(err)
	}
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "types", Tables: db.Tables(), Source: db, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	conn, err := gosql.Open("mysql", fmt.Sprintf("root@tcp(%s)/types?parseTime=true", srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, srv, at
}

// TestEveryTypeThroughMySQL: each column type reaches a MySQL client with
// its value, NULLs included, and index ranges work on DOUBLE and DATETIME.
func TestEveryTypeThroughMySQL(t *testing.T) {
	conn, at := serveEvery(t)
	var (
		id        uint64
		i         int32
		d         float64
		amount    string
		flag      bool
		bin, blob []byte
		txt, doc  string
		when      time.Time
	)
	err := conn.QueryRow("SELECT id, i, d, amount, flag, bin, `blob`, txt, doc, at FROM every WHERE id = 3").
		Scan(&id, &i, &d, &amount, &flag, &bin, &blob, &txt, &doc, &when)
	if err != nil {
		t.Fatal(err)
	}
	if id != 3 || i != -3 || d != 0.5 || amount != "3.25" || !flag || string(bin) != "\x03\x00" || string(blob) != "blob" ||
		txt != "text ü" || doc != `{"n": 3}` || !when.Equal(at.Add(3*time.Second)) {
		t.Fatalf("row 3: %v %v %v %v %v %q %q %q %q %v", id, i, d, amount, flag, bin, blob, txt, doc, when)
	}
	var nulls int
	if err := conn.QueryRow("SELECT COUNT(*) FROM every WHERE i IS NULL AND amount IS NULL AND doc IS NULL AND at IS NULL").Scan(&nulls); err != nil || nulls != 1 {
		t.Fatalf("NULL row: %d %v", nulls, err)
	}
	var n int
	if err := conn.QueryRow("SELECT COUNT(*) FROM every WHERE d > -1.5 AND d <= 1.5").Scan(&n); err != nil || n != 3 {
		t.Fatalf("DOUBLE range: %d rows, %v; want 3 (-0.5, 0.5, 1.5)", n, err)
	}
	if err := conn.QueryRow("SELECT COUNT(*) FROM every WHERE at >= ?", at.Add(2*time.Second)).Scan(&n); err != nil || n != 3 {
		t.Fatalf("DATETIME range with a parameter: %d rows, %v; want 3", n, err)
	}
	if err := conn.QueryRow("SELECT JSON_EXTRACT(doc, '$.n') FROM every WHERE id = 4").Scan(&n); err != nil || n != 4 {
		t.Fatalf("JSON_EXTRACT: %d, %v", n, err)
	}
}

// TestPreparedStatements: parameters of every type through the binary
// protocol (go-sql-driver prepares unless told to interpolate), each
// statement executed again with other values.
func TestPreparedStatements(t *testing.T) {
	conn, at := serveEvery(t)
	for _, c := range []struct {
		query string
		runs  []struct {
			args []any
			want string
		}
	}{
		{"SELECT id FROM every WHERE id = ?", runs(args(uint64(3)), "3", args(int64(4)), "4", args("2"), "2", args(uint64(99)), "")},
		{"SELECT id FROM every WHERE i = ?", runs(args(int32(-2)), "2", args(int64(-4)), "4")},
		{"SELECT id FROM every WHERE d BETWEEN ? AND ?", runs(args(-1.5, 0.5), "1,2,3", args(1.0, 10.0), "4")},
		{"SELECT id FROM every WHERE amount = ?", runs(args("2.25"), "2", args(decimal.RequireFromString("4.25")), "4", args(1.25), "1")},
		{"SELECT id FROM every WHERE amount > ?", runs(args("3.2"), "3,4")},
		{"SELECT id FROM every WHERE flag = ?", runs(args(true), "1,3", args(false), "0,2,4")},
		{"SELECT id FROM every WHERE bin = ?", runs(args([]byte{2, 0}), "2", args([]byte{9}), "")},
		{"SELECT id FROM every WHERE txt = ? AND id < ?", runs(args("text ü", 2), "0,1", args("text", 9), "")},
		{"SELECT id FROM every WHERE at = ?", runs(args(at.Add(3*time.Second)), "3", args(at.Add(3*time.Second+time.Microsecond)), "")},
		{"SELECT id FROM every WHERE at >= ? AND at < ?", runs(args(at, at.Add(2*time.Second)), "0,1")},
		{"SELECT id FROM every WHERE at > ?", runs(args("2026-03-04 05:06:10"), "3,4")},
		{"SELECT id FROM every WHERE i <=> ?", runs(args(nil), "1000", args(int32(0)), "0")},
		{"SELECT id FROM every WHERE JSON_EXTRACT(doc, '$.n') = ?", runs(args(4), "4")},
		{"SELECT id FROM every WHERE id IN (?, ?, ?) ORDER BY id DESC LIMIT ?", runs(args(1, 2, 3, 2), "3,2")},
	} {
		stmt, err := conn.Prepare(c.query)
		if err != nil {
			t.Fatalf("prepare %s: %v", c.query, err)
		}
		for _, r := range c.runs {
			rows, err := stmt.Query(r.args...)
			if err != nil {
				t.Errorf("%s %v: %v", c.query, r.args, err)
				continue
			}
			var ids []string
			for rows.Next() {
				var id string
				rows.Scan(&id)
				ids = append(ids, id)
			}
			rows.Close()
			if got := strings.Join(ids, ","); got != r.want {
				t.Errorf("%s %v: ids %q, want %q", c.query, r.args, got, r.want)
			}
		}
		stmt.Close()
	}
}

func args(a ...any) []any { return a }

// runs pairs argument lists with the ids they should select.
func runs(pairs ...any) []struct {
	args []any
	want string
} {
	var out []struct {
		args []any
		want string
	}
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, struct {
			args []any
			want string
		}{pairs[i].([]any), pairs[i+1].(string)})
	}
	return out
}

// TestPreparedReads: prepared reads of a primary-key range take
// preparedReads' plans after their first execution; every later answer must
// equal GMS's, which a client that interpolates parameters (text protocol)
// still gets. The every table has ties (flag, txt, blob), NULLs (row 1000),
// and every type; parameters that do not convert exactly (a float, a
// negative or non-numeric value for the unsigned key) go back to GMS.
func TestPreparedReads(t *testing.T) {
	conn, srv, _ := serveEveryServer(t)
	queries := []string{
		"SELECT id, i, d, amount, flag, bin, `blob`, txt, doc, at, every.id FROM every WHERE id = ?",
		"SELECT * FROM every WHERE id BETWEEN ? AND ?",
		"SELECT id, flag FROM every WHERE id >= ? AND id < ? ORDER BY flag DESC",
		"SELECT id, i, d FROM every WHERE id > ? AND id <= ? ORDER BY i, d DESC",
		"SELECT txt, id FROM every WHERE id <= ? ORDER BY txt DESC, at",
		"SELECT DISTINCT flag, txt FROM every WHERE id < ? ORDER BY flag",
		"SELECT DISTINCT `blob`, amount FROM every WHERE id > ?",
		"SELECT d AS x, every.at FROM every WHERE id < ?",
		"SELECT COUNT(*), COUNT(i), SUM(i), SUM(d), SUM(amount), MIN(at), MAX(txt), AVG(amount), AVG(i) FROM every WHERE id BETWEEN ? AND ?",
		"SELECT MIN(doc), MAX(bin), SUM(flag) FROM every WHERE id >= ?",
	}
	args := []struct {
		vals  []any
		exact bool // every value converts exactly to the key's type
	}{
		{[]any{uint64(0), uint64(3)}, true}, {[]any{int64(2), int64(1000)}, true}, {[]any{uint64(5), uint64(1)}, true},
		{[]any{"1", "4"}, true}, {[]any{uint64(1000), uint64(1000)}, true}, {[]any{uint64(0), uint64(1) << 63}, true},
		{[]any{int64(-1), uint64(2)}, false}, {[]any{3.0, uint64(77)}, false}, {[]any{"x", uint64(4)}, false},
	}
	for _, q := range queries {
		stmt, err := conn.Prepare(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer stmt.Close()
		for n, arg := range args {
			a := arg.vals[:strings.Count(q, "?")]
			text := q
			for _, v := range a {
				text = strings.Replace(text, "?", sqlLiteral(v), 1)
			}
			want, err := rowStrings(conn.Query(text))
			if err != nil {
				t.Fatalf("%s: %v", text, err)
			}
			for run := 0; run < 2; run++ {
				before := srv.PlannedReads()
				got, err := rowStrings(stmt.Query(a...))
				if err != nil {
					t.Fatalf("%s %v: %v", q, a, err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s %v (run %d):\nprepared %v\ntext     %v", q, a, run, got, want)
				}
				planned := srv.PlannedReads() - before
				// The statement's first execution goes through GMS.
				if wantPlanned := (n > 0 || run > 0) && arg.exact; planned != 0 != wantPlanned {
					t.Errorf("%s %v (run %d): planned reads %d, want them %v", q, a, run, planned, wantPlanned)
				}
			}
		}
	}
}

func sqlLiteral(v any) string {
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	return fmt.Sprint(v)
}
