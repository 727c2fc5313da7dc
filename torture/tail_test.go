package torture

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/wal"
)

// markLag is how long after its last sync the log's high-water mark is
// surely written (wal: at most once a second, plus an fsync).
const markLag = 3 * time.Second

// TestLostTail loses the end of the log behind Imago's back: the last Pebble
// WAL file cut after a SIGKILL, or the log directory restored from an older
// copy. Imago promises (wal.LostEntriesError, README "Checkpoints and
// restart"):
//   - the next start refuses, naming the missing seqs and the repair; it
//     never starts silently at an earlier seq (which would hand those seqs
//     out again to other commands);
//   - after the documented repair (imago log accept-loss) the start is at
//     the log's end, loads no checkpoint past it, and later, when new
//     commands have reused the lost seqs, still never loads a checkpoint of
//     the lost history: the image stays the replay of the log.
//
// cut-within-mark-lag cuts the last record: a loss within the mark's lag
// (wal/mark.go rewrites it about once a second), which Imago documents it
// may not see (README, "A log that lost entries"). The check holds Imago to
// that promise: a start that does not refuse may have lost only commands
// acknowledged within that window before the kill, never older ones.
func TestLostTail(t *testing.T) {
	need(t)
	for _, c := range []struct {
		name string
		// lose SIGKILLs p and loses a tail of the log; it returns what it
		// had acknowledged meanwhile.
		// before is set to the log's last seq just before the loss.
		lose func(t *testing.T, dir string, p *proc, before *uint64) []ack
		// withinLag: the loss is within the mark's documented blind window.
		withinLag bool
	}{
		{"cut-last-wal-half", func(t *testing.T, dir string, p *proc, before *uint64) []ack {
			time.Sleep(markLag)
			p.kill(t)
			*before = lastSeq(t, dir)
			cutLastWAL(t, dir, func(size int64) int64 { return size / 2 })
			return nil
		}, false},
		{"cut-within-mark-lag", func(t *testing.T, dir string, p *proc, before *uint64) []ack {
			// Writes go on until the kill; the cut of the last byte tears
			// the last record: the last batch, logged within the last
			// milliseconds, after the mark was last written.
			l := startLoad(p.httpAddr, "lag", sc.writers, 99)
			time.Sleep(time.Second)
			p.kill(t)
			acks := l.stop()
			*before = lastSeq(t, dir)
			cutLastWAL(t, dir, func(size int64) int64 { return max(0, size-1) })
			return acks
		}, true},
		{"restore-old-log", func(t *testing.T, dir string, p *proc, before *uint64) []ack {
			// A copy of log/ taken at a graceful stop, then more history
			// (and checkpoints) written, then the copy put back.
			p.stop(t)
			old := filepath.Join(t.TempDir(), "log")
			copyTree(t, imago.LogDir(dir), old)
			p = start(t, dir, tailArgs...)
			l := startLoad(p.httpAddr, "more", sc.writers, 7)
			for deadline := time.Now().Add(time.Minute); l.count() < 4000 && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
			}
			acks := l.stop()
			time.Sleep(markLag)
			p.kill(t)
			*before = lastSeq(t, dir)
			if err := os.RemoveAll(imago.LogDir(dir)); err != nil {
				t.Fatal(err)
			}
			copyTree(t, old, imago.LogDir(dir))
			return acks
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) { lostTail(t, c.lose, c.withinLag) })
	}
}

// missing finds the missing seqs in a refused start's message.
var missing = regexp.MustCompile(`(\d+)\.\.(\d+) are missing`)

// tailArgs write checkpoints often: some fall into the tail that is lost.
var tailArgs = []string{"--durability", "always", "--checkpoint-every", "1000", "--checkpoints-keep", "3"}

// markWindow bounds how long before the kill a command acknowledged and
// then lost to a cut may have been, unnoticed: the mark's interval (1 s)
// and the scheduling of its goroutine on a loaded machine.
const markWindow = 2500 * time.Millisecond

func lostTail(t *testing.T, lose func(*testing.T, string, *proc, *uint64) []ack, withinLag bool) {
	dir := t.TempDir()
	p := start(t, dir, tailArgs...)
	lg := ledger{}
	lg.add(t, setup(t, p.httpAddr, "s"))
	l := startLoad(p.httpAddr, "load", sc.writers, 1)
	for deadline := time.Now().Add(time.Minute); l.count() < 4000 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	lg.add(t, l.stop())
	var before uint64 // the log's last seq before it lost its tail
	lg.add(t, lose(t, dir, p, &before))
	acked := lg.max()
	ckpts := checkpointSums(t, dir)

	// The start must refuse, naming the missing seqs and the repair.
	p, out, err := tryStart(t, dir, tailArgs...)
	if p != nil && withinLag {
		lost, reused := lg.compare(logIDs(t, p))
		var last time.Time
		for _, a := range lg {
			if a.at.After(last) {
				last = a.at
			}
		}
		for _, a := range append(lost, reused...) {
			if last.Sub(a.at) > markWindow {
				t.Fatalf("a start that did not refuse lost seq %d, acknowledged %v before the last acknowledgment: older than the mark's documented window (%v)",
					a.seq, last.Sub(a.at).Round(time.Millisecond), markWindow)
			}
		}
		t.Logf("the cut fell within the mark's window: the start did not refuse; %d acknowledged commands of the last %v are lost, as documented", len(lost)+len(reused), markWindow)
		p.stop(t)
		return
	}
	if p != nil {
		// Which acknowledged commands did it drop without a word?
		lost, reused := lg.compare(logIDs(t, p))
		t.Fatalf("the log lost its tail (it ended at seq %d), yet imago started silently at seq %d, checkpoint %d: seqs %d..%d will be handed out again "+
			"(%d acknowledged commands up to seq %d, %d of them now absent). A start must refuse a log that ends before what was logged; "+
			"the high-water mark (wal/mark.go) lags the log by up to a second and misses this loss",
			before, p.seq, p.ckptSeq, p.seq+1, before, len(lg), acked, len(lost)+len(reused))
	}
	m := missing.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "accept-loss") {
		t.Fatalf("a start on a log missing its tail refused (%v), but without naming the missing seqs and the repair:\n%s", err, out)
	}
	from, _ := strconv.ParseUint(m[1], 10, 64)
	to, _ := strconv.ParseUint(m[2], 10, 64)
	logEnd := from - 1
	var lostAcked int
	for s := range lg {
		if s > logEnd {
			lostAcked++
			delete(lg, s)
		}
	}
	t.Logf("refused: seqs %d..%d missing (%d acknowledged commands among them, %d acknowledged in all)", from, to, lostAcked, lostAcked+len(lg))

	acceptLoss(t, dir)
	p = start(t, dir, "--durability", "always") // no checkpoints of its own: only old ones can be loaded
	if p.seq != logEnd {
		t.Errorf("after the repair imago started at seq %d, want the log's end %d", p.seq, logEnd)
	}
	if p.ckptSeq > logEnd {
		t.Errorf("after the repair imago loaded the checkpoint at seq %d, past the log's end %d", p.ckptSeq, logEnd)
	}
	if lost, reused := lg.compare(logIDs(t, p)); len(lost)+len(reused) > 0 {
		t.Errorf("after the repair %d acknowledged commands before the cut are gone (first %s)", len(lost)+len(reused), first(append(lost, reused...)))
	}

	// New commands now take the lost seqs. A checkpoint written in the lost
	// history (its seq now within the log again) must never be loaded.
	var stale uint64
	for seq := range ckpts {
		if seq > logEnd {
			stale = max(stale, seq)
		}
	}
	if stale > 0 {
		l := startLoad(p.httpAddr, "after", sc.writers, 3)
		for deadline := time.Now().Add(time.Minute); p.seq+uint64(l.count()) < stale+50 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
		lg.add(t, l.stop())
		time.Sleep(markLag)
		p.kill(t)
		verifyCopy(t, dir) // the image equals the replay of the log
		p = start(t, dir, "--durability", "always")
		if sum, ok := ckpts[p.ckptSeq]; ok && p.ckptSeq > logEnd && sum == fileSum(t, ckptPath(dir, p.ckptSeq)) {
			t.Errorf("imago loaded the checkpoint at seq %d, written before the repair in the lost history (the log ended at %d): "+
				"its image is not the replay of the log that now holds seqs %d..", p.ckptSeq, logEnd, logEnd+1)
		}
		if lost, reused := lg.compare(logIDs(t, p)); len(lost)+len(reused) > 0 {
			t.Errorf("%d acknowledged commands are gone (first %s)", len(lost)+len(reused), first(append(lost, reused...)))
		}
		t.Logf("after the repair: %d commands reused the lost seqs up to %d (stale checkpoints up to %d); restart at seq %d from checkpoint %d",
			p.seq-logEnd, p.seq, stale, p.seq, p.ckptSeq)
	}
	p.stop(t)
	if out, err := runImago(t, "log", "verify", "--data", dir); err != nil {
		t.Errorf("imago log verify: %v\n%s", err, out)
	}
}

// acceptLoss runs the documented repair, imago log accept-loss.
func acceptLoss(t *testing.T, dir string) {
	t.Helper()
	out, err := runImago(t, "log", "accept-loss", "--data", dir)
	if err != nil {
		t.Fatalf("imago log accept-loss --data %s: %v\n%s", dir, err, out)
	}
	t.Logf("imago log accept-loss: %s", strings.TrimSpace(out))
}

// lastSeq is the last seq of the log of a stopped (or killed) server's
// directory, read from a copy so that nothing changes.
func lastSeq(t *testing.T, dir string) uint64 {
	t.Helper()
	cp := filepath.Join(t.TempDir(), "log")
	copyTree(t, imago.LogDir(dir), cp)
	l, err := wal.Open(cp, wal.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open a copy of the log read-only: %v", err)
	}
	defer l.Close()
	return l.LastSeq()
}

// cutLastWAL truncates the newest Pebble WAL file to cut(size).
func cutLastWAL(t *testing.T, dir string, cut func(int64) int64) {
	t.Helper()
	files := walFiles(t, dir)
	if len(files) == 0 {
		t.Fatalf("no WAL file in %s", imago.LogDir(dir))
	}
	last := files[len(files)-1]
	fi, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	size := cut(fi.Size())
	if err := os.Truncate(last, size); err != nil {
		t.Fatal(err)
	}
	t.Logf("cut %s from %d to %d bytes", filepath.Base(last), fi.Size(), size)
}

func ckptPath(dir string, seq uint64) string {
	return filepath.Join(imago.CheckpointDir(dir), fmt.Sprintf("%020d.ckpt", seq))
}

// checkpointSums are the checkpoint files of dir by seq, with their SHA-256.
func checkpointSums(t *testing.T, dir string) map[uint64][32]byte {
	t.Helper()
	files, err := checkpoint.List(imago.CheckpointDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[uint64][32]byte{}
	for _, f := range files {
		sums[f.Seq] = fileSum(t, f.Path)
	}
	return sums
}

func fileSum(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(b)
}
