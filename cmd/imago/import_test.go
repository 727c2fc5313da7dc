package main

import (
	"bufio"
	gosql "database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// importFile writes lines to a file of the test's.
func importFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLogImport: imago log import brings a history into a new data
// directory with its original times; a malformed line refuses the whole
// file; a refused command stops the import at its batch, naming its line,
// and --from-line resumes; the server then serves the history.
func TestLogImport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	history := []string{
		`{"name":"add_product","time":"2025-01-06T09:30:00.123456Z","id":"p-1","actor":"catalogue","payload":{"sku":"mug","name":"Mug","category":"kitchen","price_cents":1250,"stock":10}}`,
		`{"name":"register_customer","time":"2025-01-07T09:30:00Z","payload":{"customer_id":"ada","name":"Ada","email":"ada@example.com","country":"GB"}}`,
		``,
		`{"name":"place_order","time":"2025-01-08T09:00:00Z","id":"o-1","actor":"web","payload":{"order_id":"o-1","customer_id":"ada","lines":[{"sku":"mug","quantity":2}]}}`,
		`{"name":"pay_order","time":"2025-01-08T10:00:00Z","payload":{"order_id":"o-1","amount_cents":2499}}`,
		`{"name":"ship_order","time":"2025-01-10T10:00:00Z","payload":{"order_id":"o-1"}}`,
	}
	base := []string{"log", "import", "--data", dir, "--actor", "migration"}

	// A malformed line: nothing is written.
	bad := append(append([]string{}, history[:2]...), `{"name":"restock","time":"2025-01-07","payload":{"sku":"mug","quantity":1}}`)
	_, stderr, err := run(t, append(base, "--file", importFile(t, bad...))...)
	if err == nil || !strings.Contains(stderr, `line 3: field "time": "2025-01-07" is not an RFC 3339 time`) || !strings.Contains(stderr, "nothing was imported") {
		t.Fatalf("a malformed line: %v %s", err, stderr)
	}
	// A time going backwards: nothing is written.
	back := []string{history[1], history[0]}
	if _, stderr, err := run(t, append(base, "--file", importFile(t, back...))...); err == nil || !strings.Contains(stderr, "line 2: time 2025-01-06T09:30:00.123456Z is before line 1's") {
		t.Fatalf("times going backwards: %v %s", err, stderr)
	}
	// A refused payment (line 5) stops the second batch of two lines.
	file := importFile(t, history...)
	_, stderr, err = run(t, append(base, "--file", file, "--batch", "2")...)
	if err == nil || !strings.Contains(stderr, "line 5 (pay_order): pay_order refused: order o-1: amount_cents 2499 does not equal the total 2500") ||
		!strings.Contains(stderr, "lines 1 to 2 are imported (seqs 1 to 2); import the rest with --from-line 4") {
		t.Fatalf("a refused command: %v %s", err, stderr)
	}
	history[4] = strings.Replace(history[4], "2499", "2500", 1)
	file = importFile(t, history...)
	stdout, stderr, err := run(t, append(base, "--file", file, "--batch", "2", "--from-line", "4")...)
	if err != nil || !strings.Contains(stdout, "imported 3 commands (lines 4 to 6) as seqs 3 to 5, 2025-01-08T09:00:00Z to 2025-01-10T10:00:00Z, imported by migration") {
		t.Fatalf("resumed import: %v %s %s", err, stdout, stderr)
	}

	stdout, stderr, err = run(t, "log", "dump", "--data", dir)
	if err != nil {
		t.Fatalf("log dump: %v %s", err, stderr)
	}
	var got []string
	for sc := bufio.NewScanner(strings.NewReader(stdout)); sc.Scan(); {
		var env struct {
			Seq        uint64
			ID, Actor  string
			ImportedBy string `json:"imported_by"`
			Time       time.Time
		}
		if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
			t.Fatal(err)
		}
		got = append(got, env.Time.Format(time.RFC3339Nano)+" "+env.Actor+" "+env.ImportedBy)
	}
	want := []string{"2025-01-06T09:30:00.123456Z catalogue migration", "2025-01-07T09:30:00Z migration migration",
		"2025-01-08T09:00:00Z web migration", "2025-01-08T10:00:00Z migration migration", "2025-01-10T10:00:00Z migration migration"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	p := start(t, dir)
	db, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var status, placed string
	if err := db.QueryRow("SELECT status, placed_at FROM shop.orders WHERE order_id = 'o-1'").Scan(&status, &placed); err != nil || status != "shipped" || placed != "2025-01-08 09:00:00.000000" {
		t.Errorf("order o-1 served: %q placed %q, %v", status, placed, err)
	}
	var importedBy string
	var imported int
	if err := db.QueryRow("SELECT MIN(imported_by), COUNT(imported_by) FROM imago.commands").Scan(&importedBy, &imported); err != nil || importedBy != "migration" || imported != 5 {
		t.Errorf("imago.commands imported_by: %q on %d commands (%v), want migration on 5", importedBy, imported, err)
	}
	if _, stderr, err := run(t, append(base, "--file", file)...); err == nil || !strings.Contains(stderr, "in use by a running server: import through it instead: POST /v1/admin/import") {
		t.Errorf("import into a running server's directory: %v %s", err, stderr)
	}
}
