package imago_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/internal/latency"
	"github.com/imagodb/imago/reactors"
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

// openBench opens app with durability always and submits setup.
func openBench(b *testing.B, app *imago.App, setup []commands.Command) *imago.DB {
	db, err := imago.Open(benchDir(b), app, imago.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for _, c := range setup {
		if _, err := db.Submit(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// openBenchShop opens a shop where every workload.BenchOrder is accepted.
func openBenchShop(b *testing.B) *imago.DB { return openBench(b, shop.App(), workload.BenchSetup()) }

var orderSeq atomic.Int64

// BenchmarkSubmit: durable (fsync before acknowledge) commands from 1 and
// 64 concurrent submitters. Reports commands/s, commands per fsync and
// latency percentiles; compare p50 at 1 submitter with BenchmarkRawFsync
// from the same run. Two commands: the shop's place_order (3 lines: 7 rows
// written, 16 index entries) and the dictionary's set with a payload of the
// same size (1 row, 1 index entry), which separates the cost of the write
// path (accept, group commit, fsync, publish) from that of the projection.
func BenchmarkSubmit(b *testing.B) {
	value := strings.Repeat("v", 160) // a set encodes to about the size of a place_order
	for _, cmd := range []string{"place_order", "set"} {
		for _, submitters := range []int{1, 64} {
			b.Run(fmt.Sprintf("cmd=%s/submitters=%d", cmd, submitters), func(b *testing.B) {
				db := openBenchShop(b)
				next := func() commands.Command { return workload.BenchOrder(orderSeq.Add(1)) }
				if cmd == "set" {
					db = openBench(b, dictionary.App(), nil)
					next = func() commands.Command {
						return &dictionary.Set{Key: fmt.Sprintf("key-%d", orderSeq.Add(1)), Value: value}
					}
				}
				runSubmitters(b, db, submitters, next)
			})
		}
	}
}

func runSubmitters(b *testing.B, db *imago.DB, submitters int, next func() commands.Command) {
	before := db.Stats()
	latency.Run(b, submitters, func() error {
		_, err := db.Submit(context.Background(), next())
		return err
	})
	after := db.Stats()
	b.ReportMetric(float64(after.Commands-before.Commands)/float64(after.Batches-before.Batches), "cmds/fsync")
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
	latency.Run(b, 1, func() error {
		if _, err := f.Write(buf); err != nil {
			return err
		}
		return syscall.Fdatasync(int(f.Fd()))
	})
}

// BenchmarkReactor: how fast a reactor gets through a log of b.N commands
// (FromStart, so it starts behind by all of them): "notify" does nothing
// with each (reading, decoding, the cursor), "submit" submits a command per
// delivery (a durable write each, one at a time: a reaction waits for its
// commands). Reports deliveries/s, timed from Open (whose replay of the
// log is included: the reactor starts once it is done).
func BenchmarkReactor(b *testing.B) {
	for _, mode := range []string{"notify", "submit"} {
		b.Run(mode, func(b *testing.B) {
			dir := benchDir(b)
			db, err := imago.Open(dir, dictionary.App(), imago.Options{})
			if err != nil {
				b.Fatal(err)
			}
			cmds := make([]commands.Command, 0, 1000)
			for i := 0; i < b.N; i += len(cmds) {
				cmds = cmds[:0]
				for j := i; j < min(b.N, i+1000); j++ {
					cmds = append(cmds, &dictionary.Set{Key: fmt.Sprint("k", j), Value: "v"})
				}
				for _, o := range db.SubmitAll(context.Background(), cmds, make([]commands.Meta, len(cmds))) {
					if o.Err != nil {
						b.Fatal(o.Err)
					}
				}
			}
			db.Close()
			var delivered atomic.Int64
			done := make(chan struct{})
			react := func(ctx context.Context, d *reactors.Delivery) error {
				if mode == "submit" {
					if _, err := d.Submit(ctx, &dictionary.Add{Key: "audit", Value: "."}); err != nil {
						return err
					}
				}
				if delivered.Add(1) == int64(b.N) {
					close(done)
				}
				return nil
			}
			b.ResetTimer()
			db, err = imago.Open(dir, dictionary.App(), imago.Options{Reactors: []reactors.Reactor{{Name: "bench", Commands: []string{"set"}, React: react, FromStart: true}}})
			if err != nil {
				b.Fatal(err)
			}
			<-done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			db.Close()
		})
	}
}
