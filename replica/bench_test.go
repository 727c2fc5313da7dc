package replica_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/examples/shopanalytics"
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

// BenchmarkLag: the replica's lag while the primary takes writes as fast
// as 64 submitters can (durability always): how long after a seq is
// published on the primary it is visible on the replica, p50 and p99, and
// whether it grows (the last quarter's p50 against the first's). The run
// lasts IMAGO_BENCH_SECONDS (default 10; the figure is 60).
//
//	go test -run '^$' -bench Lag -benchtime 1x ./replica/
func BenchmarkLag(b *testing.B) {
	secs := 10
	if n, err := strconv.Atoi(os.Getenv("IMAGO_BENCH_SECONDS")); err == nil && n > 0 {
		secs = n
	}
	primary := run(b, config(b, dictionary.App()))
	rcfg := config(b, dictionary.App())
	rcfg.ReplicaOf = "http://" + primary.HTTPAddr()
	follower := run(b, rcfg).Replica()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				primary.DB().Submit(context.Background(), &dictionary.Set{Key: fmt.Sprint("w", w, "-", i%1000), Value: strconv.Itoa(i)})
			}
		})
	}
	// Every 2 ms: the primary's published seq now; later, when the replica
	// shows it.
	type probe struct {
		seq uint64
		at  time.Time
	}
	var lags []time.Duration
	var pending []probe
	tick := time.NewTicker(2 * time.Millisecond)
	start := time.Now()
	for ctx.Err() == nil || len(pending) > 0 {
		<-tick.C
		if ctx.Err() == nil {
			pending = append(pending, probe{primary.DB().View().Seq, time.Now()})
		}
		applied := follower.DB().View().Seq
		for len(pending) > 0 && pending[0].seq <= applied {
			lags = append(lags, time.Since(pending[0].at))
			pending = pending[1:]
		}
		if time.Since(start) > time.Duration(secs+30)*time.Second {
			b.Fatalf("the replica is %d probes behind 30 s after the writes stopped", len(pending))
		}
	}
	tick.Stop()
	wg.Wait()
	seq := primary.DB().View().Seq
	pct := func(l []time.Duration, p float64) time.Duration {
		s := slices.Clone(l)
		slices.Sort(s)
		return s[int(p*float64(len(s)-1))]
	}
	q := len(lags) / 4
	b.ReportMetric(float64(seq)/float64(secs), "commands/s")
	b.ReportMetric(float64(pct(lags, 0.5).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(pct(lags, 0.99).Microseconds())/1000, "p99_ms")
	b.Logf("%d commands in %d s (%.0f/s); replica lag p50 %v, p99 %v; first quarter p50 %v, last quarter p50 %v",
		seq, secs, float64(seq)/float64(secs), pct(lags, 0.5), pct(lags, 0.99), pct(lags[:q], 0.5), pct(lags[len(lags)-q:], 0.5))
}

// BenchmarkAnalyticsRebuild: a replica of another projection
// (shop_analytics) building its image from a shop primary's whole log:
// commands/s. IMAGO_BENCH_ORDERS sets the orders (default 20000).
//
//	go test -run '^$' -bench AnalyticsRebuild -benchtime 1x ./replica/
func BenchmarkAnalyticsRebuild(b *testing.B) {
	orders := 20000
	if n, err := strconv.Atoi(os.Getenv("IMAGO_BENCH_ORDERS")); err == nil && n > 0 {
		orders = n
	}
	primary := run(b, config(b, shop.App()))
	submit := func(cmds []commands.Command) {
		for i := 0; i < len(cmds); i += 1000 {
			part := cmds[i:min(i+1000, len(cmds))]
			for _, o := range primary.DB().SubmitAll(context.Background(), part, make([]commands.Meta, len(part))) {
				if o.Err != nil && !errors.As(o.Err, new(*commands.RefusedError)) {
					b.Fatal(o.Err)
				}
			}
		}
	}
	submit(workload.Setup(2000, 200))
	g := workload.New("bench", 1, 2000, 200)
	cmds := make([]commands.Command, 0, orders)
	for range orders {
		cmds = append(cmds, g.Next())
	}
	submit(cmds)
	seq := primary.DB().View().Seq
	for i := 0; i < b.N; i++ {
		rcfg := config(b, shopanalytics.App())
		rcfg.ReplicaOf = "http://" + primary.HTTPAddr()
		start := time.Now()
		r := run(b, rcfg).Replica()
		for r.DB().View().Seq < seq {
			time.Sleep(5 * time.Millisecond)
		}
		d := time.Since(start)
		b.ReportMetric(float64(seq)/d.Seconds(), "commands/s")
		b.Logf("shop_analytics rebuilt seqs 1..%d of the shop's log in %v: %.0f commands/s", seq, d.Round(time.Millisecond), float64(seq)/d.Seconds())
	}
}
