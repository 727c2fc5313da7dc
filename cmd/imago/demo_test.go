package main

import (
	gosql "database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDemoLoad: demo load against the real binary produces the numbers of
// customers, products and orders asked for, and the order statuses it
// reports, as SQL sees them.
func TestDemoLoad(t *testing.T) {
	p := start(t, t.TempDir(), "--durability", "none")
	stdout, stderr, err := run(t, "demo", "load", "--http-addr", p.httpAddr, "--customers", "60", "--products", "15",
		"--orders", "500", "--concurrency", "8", "--seed", "3")
	if err != nil {
		t.Fatalf("demo load: %v\n%s%s", err, stdout, stderr)
	}
	m := regexp.MustCompile(`\((\d+) paid, (\d+) shipped, (\d+) cancelled\) with prefix (\w+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("demo load printed %q", stdout)
	}
	if !regexp.MustCompile(`demo load: (\d+)/(\d+) commands \(100%\)`).MatchString(stderr) {
		t.Errorf("no final progress line on stderr: %q", stderr)
	}
	shipped, _ := strconv.Atoi(m[2])
	cancelled, _ := strconv.Atoi(m[3])
	prefix := m[4]
	db, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		query string
		want  int
	}{
		{"SELECT COUNT(*) FROM customers", 60},
		{"SELECT COUNT(*) FROM products", 15},
		{"SELECT COUNT(*) FROM orders", 500},
		{"SELECT COUNT(*) FROM orders WHERE status = 'shipped'", shipped},
		{"SELECT COUNT(*) FROM orders WHERE status = 'cancelled'", cancelled},
		{fmt.Sprintf("SELECT COUNT(*) FROM orders WHERE order_id LIKE '%s-o%%'", prefix), 500},
		{"SELECT COUNT(DISTINCT country) FROM customers", -1},
	} {
		var got int
		if err := db.QueryRow(c.query).Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if (c.want >= 0 && got != c.want) || (c.want < 0 && got < 3) {
			t.Errorf("%s = %d, want %d", c.query, got, c.want)
		}
	}
	_, stderr, err = run(t, "demo", "load", "--http-addr", p.httpAddr, "--concurrency", "0")
	if err == nil || !strings.Contains(stderr, "--concurrency 0: want 1 to 1024") {
		t.Errorf("--concurrency 0: %v %q", err, stderr)
	}
}
