package main

import (
	"bytes"
	gosql "database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/examples/shopanalytics"
	"github.com/imagodb/imago/wal"
)

// cuttingProxy forwards TCP connections to a primary. On a connection that
// carries a log stream (a request for GET /v1/log) it counts the entries
// going to the replica and, once it passed after of them, forwards only
// the first half of the next entry's bytes and closes both sides: the
// replica's connection is cut mid-entry, up to cuts times in all.
type cuttingProxy struct {
	ln       net.Listener
	target   string
	after    int
	cutsLeft atomic.Int32
	cut      atomic.Int32 // connections cut mid-entry
	streams  atomic.Int32 // log streams seen
	conns    sync.WaitGroup
}

// entryStart begins each entry line of a raw log stream.
var entryStart = []byte(`{"seq":`)

func newCuttingProxy(t *testing.T, target string, after, cuts int) *cuttingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln, target: target, after: after}
	p.cutsLeft.Store(int32(cuts))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Go(func() { p.serve(c) })
		}
	}()
	t.Cleanup(func() { ln.Close(); p.conns.Wait() })
	return p
}

func (p *cuttingProxy) addr() string { return p.ln.Addr().String() }

// serve forwards one connection both ways.
func (p *cuttingProxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	var logStream atomic.Bool
	go func() { // requests: note a log stream, before its response comes
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if bytes.Contains(buf[:n], []byte("GET /v1/log?")) && !logStream.Swap(true) {
					p.streams.Add(1)
				}
				if _, err := server.Write(buf[:n]); err != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		server.Close()
	}()
	buf := make([]byte, 32<<10)
	entries := 0
	for {
		n, err := server.Read(buf)
		chunk := buf[:n]
		if logStream.Load() {
			if at := p.cutAt(chunk, &entries); at >= 0 {
				client.Write(chunk[:at])
				p.cut.Add(1)
				return // both sides closed by the defers
			}
		}
		if _, werr := client.Write(chunk); werr != nil || err != nil {
			return
		}
	}
}

// cutAt is where to cut chunk (-1: not in it): in the middle of the first
// entry that starts in it after the stream passed p.after entries.
func (p *cuttingProxy) cutAt(chunk []byte, entries *int) int {
	for off := 0; ; {
		i := bytes.Index(chunk[off:], entryStart)
		if i < 0 {
			return -1
		}
		start := off + i
		off = start + len(entryStart)
		if *entries++; *entries <= p.after {
			continue
		}
		if p.cutsLeft.Add(-1) < 0 {
			return -1
		}
		end := bytes.IndexByte(chunk[start:], '\n')
		if end < 0 {
			end = len(chunk) - start
		}
		return start + max(end/2, len(entryStart)+1)
	}
}

// writeLoadUntil runs writeLoad on p until the primary took n more
// commands, and returns the acknowledged commands.
func writeLoadUntil(t *testing.T, p *proc, writers int, name string, n uint64) []ack {
	t.Helper()
	stop := make(chan struct{})
	done := writeLoad(p, writers, name, stop)
	waitPrimaryPast(t, p, p.seqNow(t)+n) // on a failure the writers end with p
	close(stop)
	return done()
}

// waitPrimaryPast waits until p published seq.
func waitPrimaryPast(t *testing.T, p *proc, seq uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("the primary to reach seq %d", seq), func() bool { return p.seqNow(t) >= seq })
}

// waitFor polls ok until it holds, for up to a minute.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// TestReplicaSurvivesNetworkCuts: a TCP proxy between a replica and its
// primary cuts the log stream in the middle of an entry, five times, while
// four writers submit; the replica reconnects after each cut, resumes
// after its last applied seq, and ends with a log that is the primary's
// seq for seq and byte for byte (no gap, no repeat) and the primary's
// image hash at the same seq.
func TestReplicaSurvivesNetworkCuts(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end replica test")
	}
	const cuts = 5
	pdir, rdir := t.TempDir(), t.TempDir()+"/replica"
	p := start(t, pdir)
	setupShop(t, p)
	proxy := newCuttingProxy(t, p.httpAddr, 20, cuts)
	stop := make(chan struct{})
	done := writeLoad(p, 4, "cut", stop)
	r := startCommand(t, binary, "replica", rdir, "--primary", "http://"+proxy.addr(), "--name", "cut")
	waitFor(t, fmt.Sprintf("the proxy to cut %d streams", cuts), func() bool { return proxy.cut.Load() >= cuts })
	close(stop)
	acked := done()
	seq := p.seqNow(t)
	waitApplied(t, r, seq)
	if streams := proxy.streams.Load(); streams <= cuts {
		t.Fatalf("%d log streams through the proxy after %d cuts: the replica did not reconnect after each", streams, cuts)
	}
	stopAll(t, p, r)
	if !strings.Contains(r.stderr.String(), "unexpected EOF") {
		t.Errorf("the replica's log does not show a stream ended mid-entry:\n%s", r.stderr)
	}
	first := sameLog(t, pdir, rdir, seq)
	checkLogAndReplay(t, pdir, acked)
	if hp, hr := imageHash(t, pdir), imageHash(t, rdir); hp != hr {
		t.Fatalf("image hashes differ at seq %d: primary %s, replica %s", seq, hp, hr)
	}
	t.Logf("%d cuts mid-entry over %d streams; the replica's log holds seqs %d..%d, the primary's bytes", cuts, proxy.streams.Load(), first, seq)
}

// TestReplicasSurvivePrimaryCrash: a primary SIGKILLed under concurrent
// writes and restarted on its address; a replica of its projection and an
// analytics replica reconnect with backoff and lose nothing: each holds
// the primary's log, and their images equal the primary's (for
// shop_analytics: a replay of the primary's log by that app) at the same
// seq.
func TestReplicasSurvivePrimaryCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end replica test")
	}
	pdir, sdir, adir := t.TempDir(), t.TempDir()+"/same", t.TempDir()+"/analytics"
	p := start(t, pdir)
	setupShop(t, p)
	same := startReplica(t, p, sdir, "--name", "same")
	analytics := startReplica(t, p, adir, "--name", "analytics", "--app", "shop_analytics")

	stop := make(chan struct{})
	done := writeLoad(p, 4, "before", stop)
	from := p.seqNow(t)
	waitFor(t, "the replicas to follow the load", func() bool {
		return appliedSeq(t, same) >= from+100 && appliedSeq(t, analytics) >= from+100
	})
	if err := p.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("the primary exited cleanly on SIGKILL")
	}
	close(stop)
	acked := done()

	p = start(t, pdir, "--http-addr", p.httpAddr) // the address the replicas follow
	acked = append(acked, writeLoadUntil(t, p, 4, "after", 200)...)
	seq := p.seqNow(t)
	waitApplied(t, same, seq)
	waitApplied(t, analytics, seq)
	stopAll(t, p, same, analytics)
	for _, r := range []*proc{same, analytics} {
		if !strings.Contains(r.stderr.String(), "reconnecting") {
			t.Errorf("a replica's log does not show it lost the primary and reconnected:\n%s", r.stderr)
		}
	}

	checkLogAndReplay(t, pdir, acked) // every acknowledged command, at its seq
	sameLog(t, pdir, sdir, seq)
	if first := sameLog(t, pdir, adir, seq); first != 1 {
		t.Fatalf("the analytics replica's log begins at %d: it needs the primary's whole log", first)
	}
	if hp, hr := imageHash(t, pdir), imageHash(t, sdir); hp != hr {
		t.Fatalf("image hashes differ at seq %d: primary %s, replica %s", seq, hp, hr)
	}
	if want, got := analyticsReplay(t, pdir, seq), imageHashOf(t, adir, shopanalytics.App()); want != got {
		t.Fatalf("the analytics replica's image at seq %d is %s; shop_analytics replaying the primary's log builds %s", seq, got, want)
	}
	t.Logf("%d commands acknowledged around the crash; both replicas hold seqs ..%d", len(acked), seq)
}

// setupShop fills p with the workload's customers and products and writes
// a checkpoint, for a replica of the shop to bootstrap from.
func setupShop(t *testing.T, p *proc) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	for i, c := range workload.Setup(50, 30) {
		if _, status, err := submit(client, p.httpAddr, fmt.Sprintf("setup-%d", i), c); err != nil || status != 200 {
			t.Fatalf("setup: %d %v", status, err)
		}
	}
	checkpointNow(t, p)
}

// checkpointNow writes a checkpoint on p (POST /v1/admin/checkpoint).
func checkpointNow(t *testing.T, p *proc) {
	t.Helper()
	resp, err := http.Post("http://"+p.httpAddr+"/v1/admin/checkpoint", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("checkpoint: %s %s", resp.Status, body)
	}
}

// stopAll stops each process with SIGTERM.
func stopAll(t *testing.T, procs ...*proc) {
	t.Helper()
	for _, q := range procs {
		if err := q.stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("stop: %v\n%s", err, q.stderr)
		}
	}
}

// sameLog checks that the replica's log in rdir holds the primary's
// entries (pdir) byte for byte, from its first seq to seq, and no more;
// it returns the replica's first seq.
func sameLog(t *testing.T, pdir, rdir string, seq uint64) uint64 {
	t.Helper()
	open := func(dir string) *wal.Log {
		l, err := wal.Open(imago.LogDir(dir), wal.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	pl, rl := open(pdir), open(rdir)
	defer pl.Close()
	defer rl.Close()
	if pl.LastSeq() != seq || rl.LastSeq() != seq {
		t.Fatalf("the logs end at %d (primary) and %d (replica), want both at %d", pl.LastSeq(), rl.LastSeq(), seq)
	}
	first := rl.FirstSeq()
	want := map[uint64][]byte{}
	if err := pl.ReadValues(first, seq, func(s uint64, v []byte) error { want[s] = bytes.Clone(v); return nil }); err != nil {
		t.Fatal(err)
	}
	next := first
	err := rl.ReadValues(first, seq, func(s uint64, v []byte) error {
		if s != next {
			return fmt.Errorf("the replica's log holds seq %d after %d", s, next-1)
		}
		if !bytes.Equal(v, want[s]) {
			return fmt.Errorf("the replica's entry %d differs from the primary's", s)
		}
		next++
		return nil
	})
	if err != nil || next != seq+1 {
		t.Fatalf("the replica's log from %d: %v (read up to %d, want %d)", first, err, next-1, seq)
	}
	return first
}

// appliedSeq is the replica's applied_seq (imago.status).
func appliedSeq(t *testing.T, r *proc) uint64 {
	t.Helper()
	var seq uint64
	fmt.Sscan(statusValue(t, r.sqlAddr, "applied_seq"), &seq)
	return seq
}

// imageHashOf is the hash of the image app would recover from dir.
func imageHashOf(t *testing.T, dir string, app *imago.App) string {
	t.Helper()
	db, err := imago.Open(dir, app, imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := db.View().Snapshot.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h[:])
}

// analyticsReplay is the hash of shop_analytics' image built by replaying
// the primary's log in pdir, seqs 1..seq, strictly.
func analyticsReplay(t *testing.T, pdir string, seq uint64) string {
	t.Helper()
	db, err := imago.Open(pdir, shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app := shopanalytics.App()
	image, err := app.NewImage()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := commands.NewRegistry(app.Commands...)
	if err != nil {
		t.Fatal(err)
	}
	snap, _, err := applier.Replay{Image: image, Registry: reg, Log: db.Envelopes().Stored(), From: 1, To: seq, Strict: true}.Run()
	if err != nil {
		t.Fatal(err)
	}
	h, err := snap.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h[:])
}

// TestReplicaBootstrapsAgainAfterTruncation: a replica stopped longer than
// the primary's --replica-slot-ttl, while the primary truncated its log
// past the replica's seq, gets 410 when it comes back, sets its data aside
// and bootstraps again from the newest checkpoint; it ends with the
// primary's image at the same seq.
func TestReplicaBootstrapsAgainAfterTruncation(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end replica test")
	}
	pdir, rdir := t.TempDir(), t.TempDir()+"/replica"
	p := start(t, pdir, "--truncate-log-before-checkpoint", "--checkpoints-keep", "1", "--replica-slot-ttl", "100ms")
	setupShop(t, p)
	r := startReplica(t, p, rdir, "--name", "away")
	writeLoadUntil(t, p, 4, "before", 100)
	left := p.seqNow(t)
	waitApplied(t, r, left)
	if err := r.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	pdb, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/imago")
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	waitFor(t, "the replica's slot to expire", func() bool {
		var n int
		return pdb.QueryRow("SELECT COUNT(*) FROM replicas").Scan(&n) == nil && n == 0
	})
	writeLoadUntil(t, p, 4, "away", 100)
	checkpointNow(t, p)
	var first uint64
	fmt.Sscan(statusValue(t, p.sqlAddr, "log_first_seq"), &first)
	if first <= left+1 {
		t.Fatalf("the primary's log begins at %d: truncation did not pass the replica's seq %d", first, left)
	}

	r = startReplica(t, p, rdir, "--name", "away")
	writeLoadUntil(t, p, 4, "back", 50)
	seq := p.seqNow(t)
	waitApplied(t, r, seq)
	stopAll(t, p, r)
	if !strings.Contains(r.stderr.String(), "410 Gone") || !strings.Contains(r.stderr.String(), "start from the oldest checkpoint the log continues from") ||
		!strings.Contains(r.stderr.String(), "bootstrapping again") {
		t.Errorf("the returning replica's log does not show the 410 and the new bootstrap:\n%s", r.stderr)
	}
	if aside, _ := filepath.Glob(filepath.Join(rdir, "set-aside-*")); len(aside) != 1 {
		t.Errorf("set aside: %v, want the old data in one directory", aside)
	}
	if hp, hr := imageHash(t, pdir), imageHash(t, rdir); hp != hr {
		t.Fatalf("image hashes differ at seq %d: primary %s, replica %s", seq, hp, hr)
	}
	t.Logf("the replica left at seq %d; the primary's log then began at %d; bootstrapped again, it followed to %d", left, first, seq)
}
