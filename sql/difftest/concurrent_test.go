package difftest

import (
	"context"
	gosql "database/sql"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"
)

// concurrentQuery is the analytic query of the concurrency case: a
// GROUP BY over every order, as a dashboard's many viewers send it.
const concurrentQuery = `SELECT status, COUNT(*) AS n, SUM(total_cents) AS revenue, AVG(total_cents) AS avg_cents
FROM orders GROUP BY status ORDER BY status`

// TestConcurrentGroupBy runs concurrentQuery from IMAGO_DIFFTEST_CLIENTS
// clients at once (each IMAGO_DIFFTEST_ROUNDS times) on Imago, then on
// MariaDB, and logs each server's median and p95 latency and the ratio.
// It runs when IMAGO_DIFFTEST_CLIENTS is set (`make difftest-concurrent`:
// 50 clients on 20,000 orders); IMAGO_DIFFTEST_CPUPROFILE names a file for
// the CPU profile of Imago's run (the server runs in this process).
func TestConcurrentGroupBy(t *testing.T) {
	clients := envInt("IMAGO_DIFFTEST_CLIENTS", 0)
	if clients == 0 {
		t.Skip("runs with IMAGO_DIFFTEST_CLIENTS set (make difftest-concurrent)")
	}
	rounds := envInt("IMAGO_DIFFTEST_ROUNDS", 3)
	p := newPair(t)
	p.imago.SetMaxOpenConns(clients)
	p.maria.SetMaxOpenConns(clients)
	for _, s := range []struct {
		name string
		db   *gosql.DB
	}{{"MariaDB", p.maria}, {"Imago", p.imago}} {
		if err := warm(s.db, clients); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	if path := os.Getenv("IMAGO_DIFFTEST_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		im := latencies(t, p.imago, clients, rounds)
		pprof.StopCPUProfile()
		report(t, im, latencies(t, p.maria, clients, rounds))
		return
	}
	report(t, latencies(t, p.imago, clients, rounds), latencies(t, p.maria, clients, rounds))
}

// warm opens the pool's connections and runs the query once on each.
func warm(db *gosql.DB, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, err := db.Query(concurrentQuery)
			if err == nil {
				for rows.Next() {
				}
				err = rows.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// latencies runs the query from clients goroutines at once, rounds times
// each, and returns every run's latency, sorted.
func latencies(t *testing.T, db *gosql.DB, clients, rounds int) []time.Duration {
	t.Helper()
	var mu sync.Mutex
	var out []time.Duration
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				start := time.Now()
				r := runQuery(context.Background(), db, query{text: concurrentQuery})
				if r.err != nil {
					t.Error(r.err)
					return
				}
				mu.Lock()
				out = append(out, time.Since(start))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(out)
	return out
}

func report(t *testing.T, imago, maria []time.Duration) {
	t.Helper()
	if len(imago) == 0 || len(maria) == 0 {
		t.Fatal("no latencies")
	}
	at := func(xs []time.Duration, q float64) time.Duration { return xs[int(q*float64(len(xs)-1))] }
	t.Logf("%d runs each: median Imago %v, MariaDB %v (%.2fx); p95 Imago %v, MariaDB %v",
		len(imago), at(imago, .5).Round(time.Millisecond), at(maria, .5).Round(time.Millisecond),
		float64(at(imago, .5))/float64(at(maria, .5)), at(imago, .95).Round(time.Millisecond), at(maria, .95).Round(time.Millisecond))
}
