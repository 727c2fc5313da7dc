// Package tpch runs TPC-H's 22 queries (testdata/queries.sql) on Imago and
// on MariaDB loaded with the same rows (examples/tpch, dbgen's data) and
// compares their answers: values (numbers within a relative 1e-9, as the two
// round DECIMAL division differently), in order, except the deviations
// listed in testdata/deviations.txt with their reasons. It prints each
// query's time on both servers and the ratio.
//
// It runs with IMAGO_TPCH=1 (`make tpch`): dbgen needs about 40 s to build
// its text pool before it makes any row, too long for `go test ./...`.
// IMAGO_TPCH_SF is the scale factor (0.01 to 1, default 0.01),
// IMAGO_TPCH_QUERY_TIMEOUT the seconds a query may take on Imago (120):
// one that takes longer is reported as too slow, not compared.
package tpch

import (
	"bufio"
	"context"
	gosql "database/sql"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/tpch"
	"github.com/imagodb/imago/internal/mariadb"
	imagosql "github.com/imagodb/imago/sql"
	"github.com/imagodb/imago/writer"
)

// query is one of queries.sql: TPC-H's qN, or qNw, a working form of a
// query listed in deviations.txt.
type query struct{ name, text string }

func readQueries(t *testing.T) []query {
	t.Helper()
	f, err := os.Open("testdata/queries.sql")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []query
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "-- q"); ok {
			out = append(out, query{name: "q" + name})
			continue
		}
		if len(out) == 0 || strings.HasPrefix(line, "--") {
			continue
		}
		b.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out[len(out)-1].text = strings.TrimSuffix(strings.TrimSpace(b.String()), ";")
			b.Reset()
		}
	}
	tpch := 0
	for _, q := range out {
		if !strings.HasSuffix(q.name, "w") {
			tpch++
		}
	}
	if tpch != 22 {
		t.Fatalf("testdata/queries.sql holds %d TPC-H queries, want 22", tpch)
	}
	return out
}

// deviations are the queries whose answers are known to differ, with why.
func readDeviations(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("testdata/deviations.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if name, why, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, "#") {
			out[name] = why
		}
	}
	return out
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

// answer is what a query answered: rows as text (NULL: "NULL"), or an error.
type answer struct {
	rows [][]string
	err  error
	took time.Duration
}

func run(ctx context.Context, db *gosql.DB, q string) answer {
	start := time.Now()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var a answer
	for rows.Next() {
		vals := make([]gosql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return answer{err: err, took: time.Since(start)}
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		a.rows = append(a.rows, row)
	}
	a.err, a.took = rows.Err(), time.Since(start)
	return a
}

// sameValue: equal text, or numbers equal within a relative 1e-9, or
// datetimes equal (MariaDB's DATE arithmetic on DATETIME(6) keeps zeros).
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 == nil && err2 == nil {
		return math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
	}
	return strings.TrimSuffix(a, ".000000") == strings.TrimSuffix(b, ".000000")
}

// diff is how two answers differ ("" if they agree).
func diff(got, want answer) string {
	switch {
	case want.err != nil:
		return "MariaDB: " + want.err.Error()
	case got.err != nil:
		return "Imago: " + got.err.Error()
	case len(got.rows) != len(want.rows):
		return fmt.Sprintf("%d rows, MariaDB %d", len(got.rows), len(want.rows))
	}
	for i := range got.rows {
		for j := range got.rows[i] {
			if !sameValue(got.rows[i][j], want.rows[i][j]) {
				return fmt.Sprintf("row %d column %d: %q, MariaDB %q", i+1, j+1, got.rows[i][j], want.rows[i][j])
			}
		}
	}
	return ""
}

func TestTPCH(t *testing.T) {
	if os.Getenv("IMAGO_TPCH") != "1" {
		t.Skip("TPC-H against MariaDB runs with IMAGO_TPCH=1 (make tpch): dbgen alone takes about 40 s")
	}
	sf := envFloat("IMAGO_TPCH_SF", 0.01)
	timeout := time.Duration(envFloat("IMAGO_TPCH_QUERY_TIMEOUT", 120) * float64(time.Second))
	queries, deviations := readQueries(t), readDeviations(t)
	dir := t.TempDir()
	m, err := mariadb.Start(dir)
	if err != nil {
		t.Fatalf("MariaDB (Debian's mariadb-server; make tpch installs it): %v", err)
	}
	defer m.Stop()

	start := time.Now()
	data, err := tpch.Generate(sf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dbgen: %d rows at scale factor %v in %v", data.Rows, sf, time.Since(start).Round(time.Millisecond))
	db, err := imago.Open(dir+"/imago", tpch.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	start = time.Now()
	if err := data.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	t.Logf("Imago: loaded through %d commands in %v", db.View().Seq, time.Since(start).Round(time.Millisecond))
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "tpch", Tables: db.Tables(), Source: db,
		Log: db.Envelopes(), Version: "tpch", QueryTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Close()
	admin, err := gosql.Open("mysql", "root@tcp("+m.Addr+")/?interpolateParams=true")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	start = time.Now()
	if err := mariadb.CopyImage(ctx, admin, "tpch", db.View().Snapshot, db.Tables()); err != nil {
		t.Fatal(err)
	}
	t.Logf("MariaDB: copied in %v", time.Since(start).Round(time.Millisecond))
	conn := func(addr string) *gosql.DB {
		c, err := gosql.Open("mysql", "root@tcp("+addr+")/tpch")
		if err != nil {
			t.Fatal(err)
		}
		c.SetMaxOpenConns(1)
		return c
	}
	im, maria := conn(srv.Addr()), conn(m.Addr)
	defer im.Close()
	defer maria.Close()

	var report strings.Builder
	fmt.Fprintf(&report, "TPC-H at scale factor %v (%d rows): Imago against MariaDB\n%-4s %12s %12s %8s  %s\n", sf, data.Rows, "", "Imago", "MariaDB", "ratio", "answer")
	var ratios []float64
	for _, q := range queries {
		want := run(ctx, maria, q.text)
		got := run(ctx, im, q.text)
		status := "agrees"
		switch d := diff(got, want); {
		case got.err != nil && strings.Contains(got.err.Error(), "3024"):
			status = fmt.Sprintf("too slow: no answer within %v", timeout)
		case d != "" && deviations[q.name] != "":
			status = "deviates (listed): " + d
		case d != "":
			status = "DIFFERS: " + d
			t.Errorf("%s: %s", q.name, d)
		case deviations[q.name] != "":
			status = "agrees, but is listed as a deviation"
			t.Errorf("%s agrees with MariaDB: remove it from testdata/deviations.txt", q.name)
		}
		ratio := float64(got.took) / float64(max(want.took, time.Microsecond))
		if got.err == nil && !strings.HasSuffix(q.name, "w") {
			ratios = append(ratios, ratio)
		}
		fmt.Fprintf(&report, "%-4s %12v %12v %7.1fx  %s\n", q.name, got.took.Round(time.Microsecond), want.took.Round(time.Microsecond), ratio, status)
	}
	fmt.Fprintf(&report, "median ratio %.1fx over the %d TPC-H queries Imago answered\n", median(ratios), len(ratios))
	t.Log("\n" + report.String())
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}
