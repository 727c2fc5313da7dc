package replica_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/replica"
	"github.com/imagodb/imago/wal"
)

// BenchmarkBootstrap: a replica's bootstrap over loopback (download the
// primary's checkpoint, verify it, open from it) against a local start
// from the same checkpoint file; target ≤ 1.5×. IMAGO_BENCH_ROWS sets the
// rows (default 200000).
//
//	go test -run '^$' -bench Bootstrap -benchtime 1x ./replica/
func BenchmarkBootstrap(b *testing.B) {
	rows := 200000
	if n, err := strconv.Atoi(os.Getenv("IMAGO_BENCH_ROWS")); err == nil && n > 0 {
		rows = n
	}
	primary := run(b, config(b, dictionary.App()))
	db := primary.DB()
	const batch = 1000
	for i := 0; i < rows; i += batch {
		cmds := make([]commands.Command, 0, batch)
		metas := make([]commands.Meta, 0, batch)
		for j := i; j < min(i+batch, rows); j++ {
			cmds = append(cmds, &dictionary.Set{Key: fmt.Sprint("key-", j), Value: fmt.Sprint("value of ", j)})
			metas = append(metas, commands.Meta{})
		}
		for _, o := range db.SubmitAll(context.Background(), cmds, metas) {
			if o.Err != nil {
				b.Fatal(o.Err)
			}
		}
	}
	info, err := db.Checkpoint()
	if err != nil {
		b.Fatal(err)
	}
	var local, remote time.Duration
	for i := 0; i < b.N; i++ {
		// Local: the same checkpoint file in a data directory whose log
		// begins after it, as the replica's does.
		dir := filepath.Join(b.TempDir(), "local")
		if err := os.MkdirAll(imago.CheckpointDir(dir), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := exec.Command("cp", info.Path, imago.CheckpointDir(dir)).Run(); err != nil {
			b.Fatal(err)
		}
		log, err := wal.Open(imago.LogDir(dir), wal.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := errors.Join(log.StartAt(info.Seq+1), log.Close()); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		ldb, err := imago.Open(dir, dictionary.App(), imago.Options{})
		if err != nil {
			b.Fatal(err)
		}
		local += time.Since(start)
		ldb.Close()

		start = time.Now()
		r, err := replica.Open(context.Background(), replica.Config{Primary: "http://" + primary.HTTPAddr(),
			Data: filepath.Join(b.TempDir(), "replica"), App: dictionary.App()})
		if err != nil {
			b.Fatal(err)
		}
		remote += time.Since(start)
		if r.DB().View().Seq != info.Seq {
			b.Fatalf("the replica bootstrapped at seq %d, not %d", r.DB().View().Seq, info.Seq)
		}
		r.Close()
	}
	n := float64(b.N)
	b.ReportMetric(local.Seconds()/n, "local_s")
	b.ReportMetric(remote.Seconds()/n, "bootstrap_s")
	b.ReportMetric(remote.Seconds()/local.Seconds(), "ratio")
	b.Logf("%d rows, checkpoint of %d bytes: local start %.2fs, bootstrap over loopback %.2fs, ratio %.2f (target ≤ 1.5)",
		info.Rows, info.Bytes, local.Seconds()/n, remote.Seconds()/n, remote.Seconds()/local.Seconds())
}
