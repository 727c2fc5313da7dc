package applier_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/memdb"
)

// BenchmarkKeyedApply applies keyed dictionary sets in batches of 64 (the
// writer's group commits under load) to an image already remembering
// 40,000 keys that expire as new ones come: the cost idempotency adds to a
// command (compare keyed=false from the same run).
func BenchmarkKeyedApply(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		b.Run(fmt.Sprintf("keyed=%v", keyed), func(b *testing.B) {
			im, err := newBenchImage()
			if err != nil {
				b.Fatal(err)
			}
			at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			const window, batch = 40_000 * time.Millisecond, 64
			seq := uint64(0)
			run := func(n int) {
				for i := 0; i < n; i += batch {
					entries := make([]*applier.Entry, batch)
					for j := range entries {
						k := i + j
						at = at.Add(time.Millisecond)
						env := envelope.Envelope{Name: "set", Version: 1, Time: at}
						if keyed {
							env.ID, env.KeyExpires = fmt.Sprintf("client-7f3a-request-%010d", seq+uint64(j)), at.Add(window)
						}
						entries[j] = &applier.Entry{Env: env, Cmd: &dictionary.Set{Key: fmt.Sprint("entry-", k%1000), Value: "v"}}
					}
					applied, err := applier.Batch(im, entries, seq, true)
					if err != nil || len(applied) != batch {
						b.Fatalf("%d applied: %v", len(applied), err)
					}
					seq += batch
				}
			}
			run(40_000)
			b.ResetTimer()
			cpu := cpuTime()
			run(b.N)
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

func newBenchImage() (*memdb.Image, error) {
	return memdb.NewImage(dictionary.Entries.Table(), applier.IdempotencyKeys)
}

// cpuTime is the CPU time the process used: on a shared machine it says
// what an operation costs better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
