// Package difftest compares Imago's SQL answers with MariaDB's on the same
// data: the demo shop (examples/shop/demo) is loaded into Imago through its
// commands, its image is copied into MariaDB row by row, and every query of
// testdata/queries.sql runs on both. Values, row order (where the query
// orders), column names and column types (the driver's DatabaseTypeName)
// must agree, except for the deviations listed in testdata/deviations.txt,
// each with its reason and the form that works.
//
// MariaDB comes from Debian's mariadb-server package (.ci/run and
// `make difftest` install it); without it the test is skipped, saying why,
// unless IMAGO_DIFFTEST_REQUIRE=1. IMAGO_DIFFTEST_ORDERS sizes the shop
// (default 1500; `make difftest` loads 20000); IMAGO_DIFFTEST_ONLY runs the
// queries whose name contains it; IMAGO_DIFFTEST_QUERY_TIMEOUT (seconds, 60)
// bounds each query, and what Imago does not answer within it is reported
// as too slow, not compared. The log ends with each server's times.
package difftest

import (
	"cmp"
	"context"
	gosql "database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/demo"
	"github.com/imagodb/imago/internal/mariadb"
	imagosql "github.com/imagodb/imago/sql"
	"github.com/imagodb/imago/writer"
)

// pair is the two servers with the same data.
type pair struct {
	imago, maria *gosql.DB
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func newPair(t *testing.T) *pair {
	t.Helper()
	dir := t.TempDir()
	m, err := mariadb.Start(dir)
	if err != nil {
		msg := "MariaDB cannot be started, so Imago is not compared with it (install Debian's mariadb-server; .ci/run and make difftest do): " + err.Error()
		if os.Getenv("IMAGO_DIFFTEST_REQUIRE") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(m.Stop)

	orders := envInt("IMAGO_DIFFTEST_ORDERS", 1500)
	// The demo shop's year of history, imported with its times (steps of
	// seconds to hours, with microseconds), so that date and cohort queries
	// have something to group and datetime arithmetic has fractions to keep.
	plan := demo.New(demo.Options{Customers: max(orders/10, 20), Products: max(orders/100, 30), Orders: orders, Seed: 42, Prefix: "d"})
	db, err := imago.Open(dir+"/imago", shop.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}, Now: func() time.Time { return plan.End }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	var batch []commands.Import
	for cmd, at := range plan.Timeline() {
		batch = append(batch, commands.Import{Command: cmd, Time: at})
		if len(batch) == 1000 {
			if _, err := db.Import(ctx, batch, "difftest"); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := db.Import(ctx, batch, "difftest"); err != nil {
		t.Fatal(err)
	}
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "shop", Tables: db.Tables(), Source: db, Log: db.Envelopes(), Version: "difftest"})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })

	admin, err := gosql.Open("mysql", "root@tcp("+m.Addr+")/?interpolateParams=true")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	start := time.Now()
	if err := mariadb.CopyImage(ctx, admin, "shop", db.View().Snapshot, db.Tables()); err != nil {
		t.Fatal(err)
	}
	t.Logf("shop of %d orders in Imago and MariaDB (copied in %v)", orders, time.Since(start).Round(time.Millisecond))
	p := &pair{}
	for _, c := range []struct {
		db   **gosql.DB
		addr string
	}{{&p.imago, srv.Addr()}, {&p.maria, m.Addr}} {
		conn, err := gosql.Open("mysql", "root@tcp("+c.addr+")/shop")
		if err != nil {
			t.Fatal(err)
		}
		conn.SetMaxIdleConns(4)
		t.Cleanup(func() { conn.Close() })
		*c.db = conn
	}
	return p
}

// result is what a query answered: its columns and rows as text (NULL is
// nil), or its error.
type result struct {
	names, types []string
	rows         [][]*string
	err          error
	took         time.Duration
}

// queryTimeout bounds each query on each server (IMAGO_DIFFTEST_QUERY_TIMEOUT
// seconds, default 60).
var queryTimeout = time.Duration(envInt("IMAGO_DIFFTEST_QUERY_TIMEOUT", 60)) * time.Second

func run(ctx context.Context, conn *gosql.DB, q query) result {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	start := time.Now()
	r := runQuery(ctx, conn, q)
	r.took = time.Since(start)
	return r
}

func runQuery(ctx context.Context, conn *gosql.DB, q query) result {
	rows, err := conn.QueryContext(ctx, q.text, q.args...)
	if err != nil {
		return result{err: err}
	}
	defer rows.Close()
	var r result
	cts, err := rows.ColumnTypes()
	if err != nil {
		return result{err: err}
	}
	for _, ct := range cts {
		r.names = append(r.names, ct.Name())
		r.types = append(r.types, ct.DatabaseTypeName())
	}
	vals := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return result{err: err}
		}
		row := make([]*string, len(vals))
		for i, v := range vals {
			row[i] = text(v)
		}
		r.rows = append(r.rows, row)
	}
	if err := rows.Err(); err != nil {
		return result{err: err}
	}
	return r
}

// text is a value as the text protocol would send it (the binary protocol
// of prepared statements sends numbers as Go numbers).
func text(v any) *string {
	var s string
	switch v := v.(type) {
	case nil:
		return nil
	case []byte:
		s = string(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case uint64:
		s = strconv.FormatUint(v, 10)
	case float64:
		s = strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(v), 'g', -1, 32)
	case time.Time:
		s = v.Format("2006-01-02 15:04:05.999999")
	default:
		s = fmt.Sprint(v)
	}
	return &s
}

func isFloat(typ string) bool { return typ == "DOUBLE" || typ == "FLOAT" }

// sameValue compares two cells; cells of a floating point column compare
// as numbers to 1e-9 relative (servers print doubles differently).
func sameValue(a, b *string, float bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if *a == *b {
		return true
	}
	if float {
		x, err1 := strconv.ParseFloat(*a, 64)
		y, err2 := strconv.ParseFloat(*b, 64)
		return err1 == nil && err2 == nil && math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
	}
	return false
}

func rowKey(r []*string) string {
	var b strings.Builder
	for _, c := range r {
		if c == nil {
			b.WriteString("\x00N")
		} else {
			b.WriteString("\x00" + *c)
		}
	}
	return b.String()
}

func show(r []*string) string {
	parts := make([]string, len(r))
	for i, c := range r {
		if c == nil {
			parts[i] = "NULL"
		} else {
			parts[i] = *c
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// compare says how got (Imago) differs from want (MariaDB), or "".
func compare(q query, got, want result) string {
	if want.err != nil {
		return "" // reported by the caller: the query is wrong
	}
	if got.err != nil {
		return "error: " + got.err.Error()
	}
	if len(got.names) != len(want.names) {
		return fmt.Sprintf("columns %v, MariaDB %v", got.names, want.names)
	}
	var diffs []string
	for i := range got.names {
		if !strings.EqualFold(got.names[i], want.names[i]) {
			diffs = append(diffs, fmt.Sprintf("column %d named %q, MariaDB %q", i+1, got.names[i], want.names[i]))
		}
		if got.types[i] != want.types[i] {
			diffs = append(diffs, fmt.Sprintf("column %s typed %s, MariaDB %s", want.names[i], got.types[i], want.types[i]))
		}
	}
	if len(got.rows) != len(want.rows) {
		return strings.Join(append(diffs, fmt.Sprintf("%d rows, MariaDB %d", len(got.rows), len(want.rows))), "; ")
	}
	g, w := got.rows, want.rows
	if !q.ordered {
		g, w = slices.Clone(g), slices.Clone(w)
		byKey := func(a, b []*string) int { return cmp.Compare(rowKey(a), rowKey(b)) }
		slices.SortFunc(g, byKey)
		slices.SortFunc(w, byKey)
	}
	bad := 0
	for i := range g {
		for j := range g[i] {
			if !sameValue(g[i][j], w[i][j], isFloat(want.types[j]) || isFloat(got.types[j])) {
				if bad < 3 {
					diffs = append(diffs, fmt.Sprintf("row %d: %s, MariaDB %s", i+1, show(g[i]), show(w[i])))
				}
				bad++
				break
			}
		}
	}
	if bad > 3 {
		diffs = append(diffs, fmt.Sprintf("%d rows differ in all", bad))
	}
	return strings.Join(diffs, "; ")
}

func TestAgainstMariaDB(t *testing.T) {
	queries, err := readQueries("testdata/queries.sql")
	if err != nil {
		t.Fatal(err)
	}
	deviations, err := readDeviations("testdata/deviations.txt")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, q := range queries {
		names[q.name] = true
	}
	for name := range deviations {
		if !names[name] {
			t.Errorf("testdata/deviations.txt lists %s, which is not a query of testdata/queries.sql", name)
		}
	}
	p := newPair(t)
	ctx := context.Background()
	agree, kept := 0, 0
	var report strings.Builder
	type timing struct {
		name        string
		imago, peer time.Duration
	}
	var times []timing
	var slow []string
	only := os.Getenv("IMAGO_DIFFTEST_ONLY")
	for _, q := range queries {
		if only != "" && !strings.Contains(q.name, only) {
			continue
		}
		want := run(ctx, p.maria, q)
		if want.err != nil {
			t.Errorf("%s (line %d): MariaDB refuses the query, so it is no test of Imago: %v", q.name, q.line, want.err)
			continue
		}
		got := run(ctx, p.imago, q)
		times = append(times, timing{q.name, got.took, want.took})
		diff := compare(q, got, want)
		dev, listed := deviations[q.name]
		switch {
		case got.err != nil && got.took >= queryTimeout:
			// Speed is not what this suite judges (the answers are): a
			// query Imago does not finish within the limit is reported.
			slow = append(slow, fmt.Sprintf("  %s: no answer within %v (MariaDB: %v)", q.name, queryTimeout, want.took.Round(time.Millisecond)))
		case diff == "" && listed:
			t.Errorf("%s (line %d) now agrees with MariaDB: remove it from testdata/deviations.txt (%s)", q.name, q.line, dev.reason)
			agree++
		case diff == "":
			agree++
		case listed:
			kept++
			fmt.Fprintf(&report, "  %s: %s\n", q.name, diff)
		default:
			t.Errorf("%s (line %d) differs from MariaDB: %s\n%s", q.name, q.line, diff, q.text)
		}
	}
	t.Logf("%d queries: %d agree with MariaDB, %d deviate as testdata/deviations.txt says, %d too slow\n%s", agree+kept+len(slow), agree, kept, len(slow), report.String())
	if len(slow) > 0 {
		t.Logf("too slow to compare:\n%s", strings.Join(slow, "\n"))
	}
	// Time: Imago's over MariaDB's, per query (one run each, after the load).
	ratio := func(x timing) float64 { return float64(x.imago) / float64(max(x.peer, time.Microsecond)) }
	slices.SortFunc(times, func(a, b timing) int { return cmp.Compare(ratio(b), ratio(a)) })
	if len(times) > 0 {
		// Every query over the bound of 10x, and at least 8 (all of
		// them with IMAGO_DIFFTEST_ONLY).
		var slow strings.Builder
		over := 0
		for i, x := range times {
			if i >= 8 && ratio(x) <= 10 && only == "" {
				break
			}
			if ratio(x) > 10 {
				over++
			}
			fmt.Fprintf(&slow, "  %s: Imago %v, MariaDB %v (%.1fx)\n", x.name, x.imago.Round(time.Microsecond), x.peer.Round(time.Microsecond), ratio(x))
		}
		t.Logf("time, Imago over MariaDB: median %.2fx, %d queries over 10x; the slowest:\n%s", ratio(times[len(times)/2]), over, slow.String())
	}
}

// query is one query of testdata/queries.sql.
type query struct {
	name    string
	line    int
	text    string
	args    []any
	ordered bool // the outermost SELECT has an ORDER BY: row order counts
}

// readQueries reads blocks separated by blank lines: `-- name: x` names the
// block's query, `-- args: [json]` runs it as a prepared statement with those
// parameters; other `--` lines are comments.
func readQueries(path string) ([]query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []query
	var cur query
	seen := map[string]bool{}
	flush := func() error {
		cur.text = strings.TrimSpace(cur.text)
		if cur.text == "" {
			if cur.name != "" {
				return fmt.Errorf("%s:%d: %s has no query", path, cur.line, cur.name)
			}
			cur = query{}
			return nil
		}
		if cur.name == "" {
			return fmt.Errorf("%s:%d: a query without -- name:", path, cur.line)
		}
		if seen[cur.name] {
			return fmt.Errorf("%s:%d: %s named twice", path, cur.line, cur.name)
		}
		seen[cur.name] = true
		cur.text = strings.TrimSuffix(cur.text, ";")
		cur.ordered = ordersOutermost(cur.text)
		out = append(out, cur)
		cur = query{}
		return nil
	}
	for i, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case strings.HasPrefix(trimmed, "-- name:"):
			cur.name, cur.line = strings.TrimSpace(strings.TrimPrefix(trimmed, "-- name:")), i+1
		case strings.HasPrefix(trimmed, "-- args:"):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(trimmed, "-- args:")), &cur.args); err != nil {
				return nil, fmt.Errorf("%s:%d: args: %v", path, i+1, err)
			}
		case strings.HasPrefix(trimmed, "--"):
		default:
			if cur.line == 0 {
				cur.line = i + 1
			}
			cur.text += line + "\n"
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// ordersOutermost tells whether ORDER BY occurs outside every parenthesis
// (a window's or a subquery's ORDER BY does not order the result).
func ordersOutermost(q string) bool {
	upper := strings.ToUpper(q)
	depth := 0
	inQuote := byte(0)
	for i := 0; i < len(upper); i++ {
		c := upper[i]
		switch {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			inQuote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(upper[i:], "ORDER BY") && (i == 0 || !isWordByte(upper[i-1])):
			return true
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

type deviation struct{ reason, works string }

// readDeviations reads `name | reason | the form that works` lines.
func readDeviations(path string) (map[string]deviation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]deviation{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 || strings.TrimSpace(parts[1]) == "" || strings.TrimSpace(parts[2]) == "" {
			return nil, fmt.Errorf("%s:%d: want `name | reason | the form that works`", path, i+1)
		}
		out[strings.TrimSpace(parts[0])] = deviation{reason: strings.TrimSpace(parts[1]), works: strings.TrimSpace(parts[2])}
	}
	return out, nil
}
