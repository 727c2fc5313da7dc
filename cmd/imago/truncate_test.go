package main

import (
	gosql "database/sql"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago/examples/shop"
)

// TestTruncateLogThroughTheBinary: with --truncate-log-before-checkpoint a
// checkpoint removes the log before it; imago.status and imago.commands say
// where the log begins, GET /v1/log refuses a read from before it with 410,
// and the stopped directory's log and checkpoint verify from that base.
func TestTruncateLogThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir, "--durability", "none", "--truncate-log-before-checkpoint", "--checkpoints-keep", "1")
	if _, stderr, err := run(t, "demo", "load", "--http-addr", p.httpAddr, "--customers", "50", "--products", "10",
		"--orders", "200", "--concurrency", "4"); err != nil {
		t.Fatalf("demo load: %v %s", err, stderr)
	}
	resp, err := http.Post("http://"+p.httpAddr+"/v1/admin/checkpoint", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ckpt, _ := strconv.ParseUint(statusValue(t, p.sqlAddr, "checkpoint_seq"), 10, 64)
	if got := statusValue(t, p.sqlAddr, "log_first_seq"); got != fmt.Sprint(ckpt+1) {
		t.Fatalf("log_first_seq %s after a checkpoint at %d", got, ckpt)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	seq, _, err := submit(client, p.httpAddr, "after", &shop.Restock{SKU: firstSKU(t, p.sqlAddr), Quantity: 5})
	if err != nil {
		t.Fatal(err)
	}

	sqldb, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/imago")
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	var lo, n, early uint64
	if err := sqldb.QueryRow("SELECT MIN(seq), COUNT(*) FROM commands").Scan(&lo, &n); err != nil || lo != ckpt+1 || n != seq-ckpt {
		t.Fatalf("imago.commands: min seq %d, %d rows (%v); want %d and %d", lo, n, err, ckpt+1, seq-ckpt)
	}
	if err := sqldb.QueryRow("SELECT COUNT(*) FROM commands WHERE seq BETWEEN 1 AND ?", ckpt).Scan(&early); err != nil || early != 0 {
		t.Fatalf("imago.commands before the log's start: %d rows (%v)", early, err)
	}

	resp, err = http.Get("http://" + p.httpAddr + "/v1/log?from=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	named := fmt.Sprintf("begins at seq %d; start from the oldest checkpoint the log continues from, seq %d (GET /v1/checkpoints/%d), then read from=%d", ckpt+1, ckpt, ckpt, ckpt+1)
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(body), named) || !strings.Contains(string(body), fmt.Sprintf(`"url":"/v1/checkpoints/%d"`, ckpt)) {
		t.Fatalf("GET /v1/log?from=1 on a truncated log: %d %s", resp.StatusCode, body)
	}
	out, stderr, err := run(t, "log", "dump", "--http-addr", p.httpAddr)
	if err != nil || !strings.HasPrefix(out, fmt.Sprintf(`{"seq":%d,`, ckpt+1)) || strings.Count(out, "\n") != int(seq-ckpt) {
		t.Fatalf("log dump of a truncated log: %v %s\n%s", err, stderr, out)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil { // a checkpoint at seq, and the log truncated to nothing
		t.Fatal(err)
	}

	out, stderr, err = run(t, "log", "verify", "--data", dir)
	if err != nil || !strings.Contains(out, fmt.Sprintf("no entries: truncated after seq %d", seq)) || !strings.Contains(out, "the log was truncated after it") {
		t.Fatalf("log verify: %v %s\n%s", err, stderr, out)
	}
	out, stderr, err = run(t, "checkpoint", "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "the base of the truncated log") {
		t.Fatalf("checkpoint verify: %v %s\n%s", err, stderr, out)
	}
	p = start(t, dir)
	if p.seq != seq {
		t.Fatalf("restart recovered seq %d, want %d", p.seq, seq)
	}
}
