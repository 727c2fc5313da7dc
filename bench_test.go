package imago_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/internal/latency"
)

// benchDir is where benchmarks write: a directory on the disk under test
// (IMAGO_BENCH_DIR, else the system temp dir).
func benchDir(b *testing.B) string {
	base := os.Getenv("IMAGO_BENCH_DIR")
	if base == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(base, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// openBenchShop opens a shop where every workload.BenchOrder is accepted.
func openBenchShop(b *testing.B) *imago.DB {
	db, err := imago.Open(benchDir(b), shop.App(), imago.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for _, c := range workload.BenchSetup() {
		if _, err := db.Submit(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

var orderSeq atomic.Int64

// BenchmarkSubmit: durable (fsync before acknowledge) place_order commands
// from 1 and 64 concurrent submitters. Reports commands/s, commands per
// fsync and latency percentiles; compare p50 at 1 submitter with
// BenchmarkRawFsync from the same run.
func BenchmarkSubmit(b *testing.B) {
	for _, submitters := range []int{1, 64} {
		b.Run(fmt.Sprintf("submitters=%d", submitters), func(b *testing.B) {
			db := openBenchShop(b)
			before := db.Stats()
			var rec latency.Recorder
			var wg sync.WaitGroup
			per := (b.N + submitters - 1) / submitters
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < submitters; w++ {
				wg.Add(1)
				s := rec.Series(per)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						t0 := time.Now()
						if _, err := db.Submit(context.Background(), workload.BenchOrder(orderSeq.Add(1))); err != nil {
							b.Error(err)
							return
						}
						s.Add(time.Since(t0))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			rec.Report(b, per*submitters, elapsed)
			after := db.Stats()
			b.ReportMetric(float64(after.Commands-before.Commands)/float64(after.Batches-before.Batches), "cmds/fsync")
		})
	}
}

// BenchmarkRawFsync is the physical floor of one durable write on this disk:
// a 200-byte write and fdatasync, one at a time.
func BenchmarkRawFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(benchDir(b), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 200)
	var rec latency.Recorder
	s := rec.Series(b.N)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
		s.Add(time.Since(t0))
	}
	rec.Report(b, b.N, time.Since(start))
}
