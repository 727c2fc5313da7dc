package main

import (
	gosql "database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/checkpoint"
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

// TestCheckpointTools: list, verify and create on a data directory written
// by the binary. Verify finds a checkpoint whose checksum is good but whose
// image is not the replay of the log at its seq, and a damaged one; create
// is refused while the server runs and, on the stopped directory, writes a
// checkpoint that the next start loads.
func TestCheckpointTools(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir, "--durability", "none")
	if _, stderr, err := run(t, "demo", "load", "--http-addr", p.httpAddr, "--customers", "100", "--products", "20",
		"--orders", "500", "--concurrency", "4"); err != nil {
		t.Fatalf("demo load: %v %s", err, stderr)
	}
	resp, err := http.Post("http://"+p.httpAddr+"/v1/admin/checkpoint", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	first, _ := strconv.ParseUint(statusValue(t, p.sqlAddr, "checkpoint_seq"), 10, 64)
	client := &http.Client{Timeout: 10 * time.Second}
	last, _, err := submit(client, p.httpAddr, "more", &shop.Restock{SKU: firstSKU(t, p.sqlAddr), Quantity: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := run(t, "checkpoint", "create", "--data", dir); err == nil || !strings.Contains(stderr, "in use by a running server") {
		t.Errorf("create on a running server's directory: %v %s", err, stderr)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil { // writes the second checkpoint
		t.Fatal(err)
	}

	out, stderr, err := run(t, "checkpoint", "list", "--data", dir)
	if err != nil || strings.Count(out, "usable") != 2 || !strings.Contains(out, fmt.Sprint(first)) {
		t.Fatalf("list: %v %s\n%s", err, stderr, out)
	}
	out, stderr, err = run(t, "checkpoint", "verify", "--data", dir)
	if err != nil || strings.Count(out, "equals the replay") != 2 || !strings.Contains(out, imageHash(t, dir)) {
		t.Fatalf("verify of good checkpoints: %v %s\n%s", err, stderr, out)
	}

	// Put the newest image under the first checkpoint's seq: a sound file
	// that is not the state at that seq.
	files, _ := checkpoint.List(imago.CheckpointDir(dir))
	db, err := imago.Open(dir, shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app := shop.App()
	os.Remove(files[1].Path)
	_, _, err = checkpoint.Write(imago.CheckpointDir(dir), db.View().Snapshot, checkpoint.Header{Seq: first, Fingerprint: app.Fingerprint(), CreatedAt: time.Now()}, checkpoint.WriteOptions{})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, "checkpoint", "verify", "--data", dir)
	if err == nil || !strings.Contains(out, "BAD  "+files[1].Path) || !strings.Contains(out, "differs from a replay") {
		t.Fatalf("verify of a checkpoint that is not the replay: %v\n%s", err, out)
	}
	flipByte(t, files[0].Path)
	out, _, _ = run(t, "checkpoint", "verify", "--data", dir)
	if !strings.Contains(out, "BAD  "+files[0].Path) || !strings.Contains(out, "checksum mismatch") {
		t.Fatalf("verify of a damaged checkpoint:\n%s", out)
	}
	out, _, _ = run(t, "checkpoint", "list", "--data", dir)
	if strings.Count(out, "usable") != 2 { // list reads headers only: neither problem shows
		t.Errorf("list:\n%s", out)
	}

	// Create from the log alone.
	os.RemoveAll(imago.CheckpointDir(dir))
	out, stderr, err = run(t, "checkpoint", "create", "--data", dir)
	if err != nil || !strings.Contains(out, fmt.Sprintf("(seq %d,", last)) {
		t.Fatalf("create: %v %s\n%s", err, stderr, out)
	}
	db, err = imago.Open(dir, shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Restored().Seq != last || db.Recovery().Commands != 0 {
		t.Errorf("after create: restored seq %d and replayed %d, want %d and 0", db.Restored().Seq, db.Recovery().Commands, last)
	}
	if _, stderr, err := run(t, "checkpoint", "create", "--data", filepath.Join(dir, "nothing")); err == nil || !strings.Contains(stderr, "holds no log") {
		t.Errorf("create in a directory without a log: %v %s", err, stderr)
	}
}

// flipByte flips a byte in the middle of the file at path.
func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
