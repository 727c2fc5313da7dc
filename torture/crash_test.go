package torture

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestCrashLoop kills the server with SIGKILL under concurrent HTTP writers,
// cycle after cycle on the same data directory, in each durability mode.
// After each restart:
//   - always and interval lose nothing acknowledged: the log's write-through
//     puts every acknowledged command in the kernel before the answer, so a
//     process kill (unlike a machine crash) loses none; none promises
//     nothing, so its losses are reported, not failed;
//   - the log's seqs have no gaps, and no acknowledged seq holds another
//     command (a seq handed out twice);
//   - the recovered image equals a replay of the whole log (in-process, on
//     a copy of the directory as the kill left it), and the server
//     recovered the same seq as that copy;
//   - an acknowledged command retried with its Idempotency-Key answers its
//     original seq, changing nothing.
//
// Checkpoints are written every few thousand commands so that recovery
// goes through checkpoints as well as the log.
func TestCrashLoop(t *testing.T) {
	need(t)
	for _, mode := range []struct {
		durability string
		lossless   bool // a process kill loses nothing acknowledged
	}{
		{"always", true},
		{"interval=1s", true},
		{"none", false},
	} {
		t.Run(strings.ReplaceAll(mode.durability, "=", "-"), func(t *testing.T) {
			crashLoop(t, mode.durability, mode.lossless)
		})
	}
}

func crashLoop(t *testing.T, durability string, lossless bool) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	args := []string{"--durability", durability, "--checkpoint-every", "1500", "--checkpoints-keep", "2"}
	p := start(t, dir, args...)
	lg := ledger{}
	lg.add(t, setup(t, p.httpAddr, "s"))
	var totalAcked, totalLost, totalReused, ckptStarts int
	for cycle := 0; cycle < sc.cycles; cycle++ {
		l := startLoad(p.httpAddr, fmt.Sprintf("c%d", cycle), sc.writers, seed+uint64(cycle))
		// Kill at a random moment of the load, but not before it wrote.
		wait := sc.load/3 + time.Duration(rng.Int64N(int64(sc.load*2/3)))
		deadline := time.Now().Add(time.Minute)
		for time.Sleep(wait); l.count() < 50 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		p.kill(t)
		acks := l.stop()
		if len(acks) < 50 {
			t.Fatalf("cycle %d: only %d commands acknowledged before the kill; the check needs load (%v)\n%s",
				cycle, len(acks), l.statuses, p.output())
		}
		lg.add(t, acks)
		totalAcked += len(acks)

		copySeq := verifyCopy(t, dir)
		p = start(t, dir, args...)
		if p.ckptSeq > 0 {
			ckptStarts++
		}
		if p.seq != copySeq {
			t.Errorf("cycle %d: the server recovered seq %d, an in-process open of the same files %d", cycle, p.seq, copySeq)
		}
		lost, reused := lg.compare(logIDs(t, p))
		totalLost += len(lost)
		totalReused += len(reused)
		t.Logf("cycle %d: killed after %v, %d acknowledged, recovered seq %d (checkpoint %d, max acknowledged %d), lost %d, seqs reused %d",
			cycle, wait.Round(time.Millisecond), len(acks), p.seq, p.ckptSeq, lg.max(), len(lost), len(reused))
		if lossless && (len(lost) > 0 || len(reused) > 0) {
			t.Errorf("cycle %d: durability %s lost acknowledged commands to a process kill: %d absent (first %s), %d seqs now hold another command (first %s)",
				cycle, durability, len(lost), first(lost), len(reused), first(reused))
		}
		for _, a := range append(lost, reused...) {
			delete(lg, a.seq) // none: what it lost is reported; the seqs go on
		}
		checkIdempotent(t, p, acks, lg, rng)
	}
	p.stop(t)
	out, err := runImago(t, "log", "verify", "--data", dir)
	if err != nil {
		t.Errorf("imago log verify after the crash loop: %v\n%s", err, out)
	}
	t.Logf("durability %s: %d cycles, %d commands acknowledged, %d lost, %d seqs reused, %d restarts from a checkpoint; log verify: %s",
		durability, sc.cycles, totalAcked, totalLost, totalReused, ckptStarts, lastLines(out, 2))
}

// checkIdempotent retries some acknowledged commands of the cycle with their
// keys: each must answer its original seq as a replay.
func checkIdempotent(t *testing.T, p *proc, acks []ack, lg ledger, rng *rand.Rand) {
	t.Helper()
	for range 20 {
		a := acks[rng.IntN(len(acks))]
		if _, kept := lg[a.seq]; !kept {
			continue // lost (durability none)
		}
		seq, status, replayed, err := post(p.httpAddr, a.name, a.id, a.body)
		if err != nil || status != 200 || seq != a.seq || !replayed {
			t.Errorf("retry of acknowledged %s (seq %d) with its key: status %d, seq %d, replayed %v, %v; want its seq, replayed",
				a.id, a.seq, status, seq, replayed, err)
		}
	}
}

func first(s []ack) string {
	if len(s) == 0 {
		return "none"
	}
	return fmt.Sprintf("seq %d %s", s[0].seq, s[0].id)
}

// lastLines is the last n lines of out, on one line.
func lastLines(out string, n int) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "; ")
}
