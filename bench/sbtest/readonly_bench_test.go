package sbtest_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago/bench/sbtest"
	"github.com/imagodb/imago/server"
	"github.com/imagodb/imago/writer"
)

// BenchmarkReadOnlyGC runs sysbench's oltp_read_only transaction (ten point
// selects and four range queries of 100 rows, prepared) from 4 clients
// against a served image of 100,000 sbtest rows, under garbage collector
// settings side by side in one run, and reports transactions per second and
// the share of CPU time the collector took.
func BenchmarkReadOnlyGC(b *testing.B) {
	const size = 100_000
	s := startServer(b, size)
	for _, gogc := range []int{400, 100, 800, 200} {
		b.Run(fmt.Sprintf("GOGC=%d", gogc), func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(gogc))
			gcBefore, cpuBefore := gcCPU()
			start := time.Now()
			runReadOnly(b, s.MySQLAddr(), size, 4, b.N)
			elapsed := time.Since(start)
			gcAfter, cpuAfter := gcCPU()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "txn/s")
			b.ReportMetric(100*(gcAfter-gcBefore)/(cpuAfter-cpuBefore), "%gc-cpu")
		})
	}
}

// startServer serves a new image of size sbtest rows on loopback.
func startServer(b *testing.B, size int) *server.Server {
	b.Helper()
	cfg := server.Config{
		App: sbtest.App(), Data: filepath.Join(b.TempDir(), "data"), Logger: slog.New(slog.DiscardHandler),
		HTTPAddr: "127.0.0.1:0", MySQLAddr: "127.0.0.1:0", MySQLUser: "root",
		Durability: writer.Durability{Mode: writer.None}, CheckpointsKeep: 1, CheckpointShare: 1,
		IdempotencyWindow: time.Hour,
	}
	s, err := server.Start(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	for first := 1; first <= size; first += sbtest.MaxRows {
		if _, err := s.DB().Submit(ctx, &sbtest.InsertRows{Rows: sbtest.Generate(1, size, first, sbtest.MaxRows)}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// readOnlyQueries are oltp_read_only's statements after its ten point
// selects (each takes a range's first and last id).
var readOnlyQueries = []string{
	"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?",
	"SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?",
	"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
	"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
}

// runReadOnly runs n transactions from clients connections.
func runReadOnly(b *testing.B, addr string, size, clients, n int) {
	db, err := sql.Open("mysql", "root@tcp("+addr+")/sbtest?interpolateParams=false")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(clients)
	var wg sync.WaitGroup
	work := make(chan struct{}, n)
	for range n {
		work <- struct{}{}
	}
	close(work)
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- readOnlyClient(db, size, uint64(c), work)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

func readOnlyClient(db *sql.DB, size int, seed uint64, work <-chan struct{}) error {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	point, err := conn.PrepareContext(ctx, "SELECT c FROM sbtest1 WHERE id = ?")
	if err != nil {
		return err
	}
	ranges := make([]*sql.Stmt, len(readOnlyQueries))
	for i, q := range readOnlyQueries {
		if ranges[i], err = conn.PrepareContext(ctx, q); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var c string
	for range work {
		for range 10 {
			if err := point.QueryRowContext(ctx, 1+rng.IntN(size)).Scan(&c); err != nil {
				return err
			}
		}
		for _, st := range ranges {
			lo := 1 + rng.IntN(size-100)
			rows, err := st.QueryContext(ctx, lo, lo+99)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// gcCPU is the CPU seconds the collector and the whole process have used
// (the runtime updates them at the end of a cycle: one is forced first).
func gcCPU() (gc, total float64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64(), s[1].Value.Float64()
}
