package torture

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestByteFlips flips one bit at a random offset of one file of a killed
// server's data directory (a fresh copy per flip) and starts it. Promised:
//   - a Pebble WAL file (.log) or table (.sst): Pebble checksums every
//     record and block, so the start refuses naming the damaged file (a
//     *WALDamageError; a table by its number), or, when the damage cuts the
//     last WAL short, naming the seqs it lost (the high-water mark) — or
//     the flip hit nothing read (a recycled WAL's stale end, a block never
//     read) and the start recovers every acknowledged command; or the
//     damaged table lies behind the checkpoint loaded, and the start warns
//     of it naming the file. Starting without acknowledged commands or
//     without a word, hanging or panicking is a failure.
//   - a checkpoint (.ckpt): its CRC-32C fails, the start skips it with a
//     warning naming the file, loads an older one or the log alone, and
//     recovers every acknowledged command; the image equals the replay. (An
//     older checkpoint than the newest good one is not read at all.)
func TestByteFlips(t *testing.T) {
	need(t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 3))
	t.Logf("seed %d", seed)
	base, lg := flipBase(t)
	for _, kind := range []struct {
		name, glob string
		check      func(t *testing.T, dir, file string, lg ledger) string
	}{
		{"wal", "log/*.log", checkLogFlip},
		{"sst", "log/*.sst", checkLogFlip},
		{"checkpoint", "checkpoints/*.ckpt", checkCheckpointFlip},
	} {
		t.Run(kind.name, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(base, kind.glob))
			var nonEmpty []string
			for _, f := range files {
				if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
					nonEmpty = append(nonEmpty, f)
				}
			}
			if len(nonEmpty) == 0 {
				t.Fatalf("the base directory has no %s file to damage", kind.glob)
			}
			outcomes := map[string]int{}
			for i := 0; i < sc.flips; i++ {
				dir := filepath.Join(t.TempDir(), "data")
				copyTree(t, base, dir)
				rel, _ := filepath.Rel(base, nonEmpty[rng.IntN(len(nonEmpty))])
				file := filepath.Join(dir, rel)
				off := flipBit(t, file, rng)
				outcome := kind.check(t, dir, file, lg)
				outcomes[outcome]++
				t.Logf("flip %d: %s at offset %d: %s", i, rel, off, outcome)
			}
			t.Logf("%s: %d flips: %v", kind.name, sc.flips, outcomes)
		})
	}
}

// flipBase is a killed server's directory with WAL files, tables and
// checkpoints, the mark current, and the ledger of what it acknowledged.
func flipBase(t *testing.T) (string, ledger) {
	dir := t.TempDir()
	args := []string{"--durability", "always", "--checkpoint-every", "1000", "--checkpoints-keep", "3"}
	lg := ledger{}
	for round := 0; round < 2; round++ {
		// Each restart flushes the recovered WAL into a table.
		p := start(t, dir, args...)
		if round == 0 {
			lg.add(t, setup(t, p.httpAddr, "s"))
		}
		l := startLoad(p.httpAddr, fmt.Sprint("r", round), sc.writers, uint64(round))
		for deadline := time.Now().Add(time.Minute); l.count() < 2500 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
		lg.add(t, l.stop())
		time.Sleep(markLag)
		p.kill(t)
	}
	var names []string
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			names = append(names, fmt.Sprintf("%s (%d)", rel, fi.Size()))
		}
		return nil
	})
	t.Logf("base: %d acknowledged up to seq %d; files %s", len(lg), lg.max(), strings.Join(names, ", "))
	return dir, lg
}

// flipBit flips one bit of file at a random offset and returns the offset.
func flipBit(t *testing.T, file string, rng *rand.Rand) int64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	off := rng.Int64N(int64(len(b)))
	b[off] ^= 1 << rng.IntN(8)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return off
}

// checkLogFlip starts on a directory with a damaged WAL file or table.
func checkLogFlip(t *testing.T, dir, file string, lg ledger) string {
	t.Helper()
	p, out, err := tryStart(t, dir, "--durability", "always")
	if p == nil {
		base := filepath.Base(file)
		number := strings.TrimSuffix(base, filepath.Ext(base))
		switch {
		case strings.Contains(out, "panic"):
			t.Errorf("a flipped bit in %s made the start panic:\n%s", base, out)
			return "panic"
		case strings.Contains(out, base) || strings.Contains(out, number):
			return "refused naming the file"
		case missing.MatchString(out):
			return "refused naming the missing seqs"
		}
		t.Errorf("a flipped bit in %s: the start refused (%v) without naming the file:\n%s", base, err, lastLines(out, 3))
		return "refused without naming the file"
	}
	defer p.kill(t)
	ids, err := readLog(t, p)
	if err != nil {
		// The image came from a checkpoint past the damage, so recovery did
		// not need the damaged entries; the log, the truth, lost them all
		// the same, and a rebuild from seq 1 would fail: the start must say
		// so, naming the file.
		base := filepath.Base(file)
		if strings.Contains(p.output(), `"msg":"a table of the log is damaged"`) && strings.Contains(p.output(), base) {
			return "started from a checkpoint past the damage, warning of the damaged table"
		}
		t.Errorf("a flipped bit in %s: imago started at seq %d without a word, but its log is damaged: %v "+
			"(a start must refuse, or warn naming the file, when acknowledged commands can no longer be read)", base, p.seq, err)
		return "started silently, log unreadable"
	}
	if lost, reused := lg.compare(ids); len(lost)+len(reused) > 0 {
		t.Errorf("a flipped bit in %s: imago started at seq %d without %d acknowledged commands (first %s): damage must refuse the start",
			filepath.Base(file), p.seq, len(lost)+len(reused), first(append(lost, reused...)))
		return "started without acknowledged commands"
	}
	return "started with every acknowledged command (the flip hit nothing read)"
}

// checkCheckpointFlip starts on a directory with a damaged checkpoint.
func checkCheckpointFlip(t *testing.T, dir, file string, lg ledger) string {
	t.Helper()
	copySeq := verifyCopy(t, dir)
	p, out, err := tryStart(t, dir, "--durability", "always")
	if p == nil {
		t.Errorf("a flipped bit in checkpoint %s: the start refused (%v); a damaged checkpoint must be skipped:\n%s", filepath.Base(file), err, lastLines(out, 3))
		return "refused"
	}
	defer p.kill(t)
	// Only the newest checkpoint is read at start: a damaged older one is
	// not looked at (checkpoint verify finds it), a newer one is loaded.
	var damaged uint64
	fmt.Sscanf(filepath.Base(file), "%d.ckpt", &damaged)
	outcome := "skipped with a warning"
	switch {
	case p.ckptSeq > damaged:
		outcome = "not read (a newer checkpoint loaded)"
	case !strings.Contains(p.output(), `"msg":"checkpoint skipped"`) || !strings.Contains(p.output(), filepath.Base(file)):
		t.Errorf("a flipped bit in checkpoint %s: no warning naming it at start:\n%s", filepath.Base(file), p.output())
		outcome = "no warning"
	}
	if p.seq != copySeq {
		t.Errorf("the server recovered seq %d, an in-process open of the same files %d", p.seq, copySeq)
	}
	if lost, reused := lg.compare(logIDs(t, p)); len(lost)+len(reused) > 0 {
		t.Errorf("a flipped bit in checkpoint %s: %d acknowledged commands missing (first %s)", filepath.Base(file), len(lost)+len(reused), first(append(lost, reused...)))
		outcome += ", commands missing"
	}
	if p.ckptSeq > 0 && ckptPath(dir, p.ckptSeq) == file {
		t.Errorf("the damaged checkpoint %s was loaded", filepath.Base(file))
	}
	return fmt.Sprintf("%s, recovered from checkpoint %d", outcome, p.ckptSeq)
}
