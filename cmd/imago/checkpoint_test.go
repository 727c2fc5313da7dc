package main

import (
	gosql "database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/shop"
)

// statusValue reads one row of imago.status.
func statusValue(t *testing.T, sqlAddr, name string) string {
	t.Helper()
	db, err := gosql.Open("mysql", "root@tcp("+sqlAddr+")/imago")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("SELECT value FROM status WHERE name = ?", name).Scan(&v); err != nil {
		t.Fatalf("imago.status %s: %v", name, err)
	}
	return v
}

// TestCheckpointsThroughTheBinary: a checkpoint on demand and one at a
// graceful stop; the restart loads the latter and replays nothing; a SIGKILL
// while a checkpoint is being written leaves a partial file that the restart
// ignores, losing nothing.
func TestCheckpointsThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir, "--durability", "none")
	if _, stderr, err := run(t, "demo", "load", "--http-addr", p.httpAddr, "--customers", "300", "--products", "50",
		"--orders", "3000", "--concurrency", "8"); err != nil {
		t.Fatalf("demo load: %v %s", err, stderr)
	}
	resp, err := http.Post("http://"+p.httpAddr+"/v1/admin/checkpoint", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ck struct {
		Seq  uint64
		File string
		Rows int64
	}
	json.NewDecoder(resp.Body).Decode(&ck)
	resp.Body.Close()
	if resp.StatusCode != 200 || ck.Seq == 0 || ck.Rows == 0 {
		t.Fatalf("POST /v1/admin/checkpoint: %d %+v", resp.StatusCode, ck)
	}
	if _, err := os.Stat(ck.File); err != nil {
		t.Fatal(err)
	}
	if got := statusValue(t, p.sqlAddr, "checkpoint_seq"); got != fmt.Sprint(ck.Seq) {
		t.Errorf("imago.status checkpoint_seq %s, want %d", got, ck.Seq)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	last, _, err := submit(client, p.httpAddr, "after", &shop.Restock{SKU: firstSKU(t, p.sqlAddr), Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.stderr.String(), `"msg":"checkpoint written","seq":`+fmt.Sprint(last)) {
		t.Errorf("no checkpoint at stop:\n%s", p.stderr)
	}

	p = start(t, dir, "--durability", "none")
	if p.seq != last || statusValue(t, p.sqlAddr, "recovered_from_checkpoint_seq") != fmt.Sprint(last) ||
		statusValue(t, p.sqlAddr, "recovered_commands") != "0" {
		t.Errorf("restart: seq %d, status %s", p.seq, p.stderr)
	}

	// Kill the process while it writes a checkpoint: catch its temporary file.
	partial := killDuringCheckpoint(t, p, dir)
	p = start(t, dir, "--durability", "none")
	if p.seq != last {
		t.Errorf("after a SIGKILL during a checkpoint: seq %d, want %d", p.seq, last)
	}
	if got := statusValue(t, p.sqlAddr, "recovered_from_checkpoint_seq"); got != fmt.Sprint(last) {
		t.Errorf("restarted from checkpoint %s, want the complete one at %d (the partial %s ignored)", got, last, partial)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	db, err := imago.Open(dir, shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}

func firstSKU(t *testing.T, sqlAddr string) string {
	db, err := gosql.Open("mysql", "root@tcp("+sqlAddr+")/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sku string
	if err := db.QueryRow("SELECT sku FROM products LIMIT 1").Scan(&sku); err != nil {
		t.Fatal(err)
	}
	return sku
}

// killDuringCheckpoint asks for checkpoints until one is caught half
// written (its .tmp file exists), SIGKILLs the process then, and returns the
// partial file's path.
func killDuringCheckpoint(t *testing.T, p *proc, dir string) string {
	t.Helper()
	ckdir := imago.CheckpointDir(dir)
	for attempt := 0; attempt < 20; attempt++ {
		go http.Post("http://"+p.httpAddr+"/v1/admin/checkpoint", "application/json", nil)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			tmps, _ := filepath.Glob(filepath.Join(ckdir, "*.tmp"))
			if len(tmps) > 0 {
				p.stop(t, syscall.SIGKILL)
				if _, err := os.Stat(tmps[0]); err != nil {
					t.Skipf("the checkpoint completed before the kill landed")
				}
				return tmps[0]
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	t.Fatal("never caught a checkpoint being written")
	return ""
}
