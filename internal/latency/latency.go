// Package latency runs operations from many goroutines in benchmarks and
// reports throughput and latency percentiles as benchmark metrics.
package latency

import (
	"sort"
	"sync"
	"testing"
	"time"
)

// Run calls op b.N times in all, spread over workers goroutines, timing each
// call, and reports ops/s, p50-µs and p99-µs. It stops at op's first error.
func Run(b *testing.B, workers int, op func() error) {
	per := (b.N + workers - 1) / workers
	series := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range series {
		wg.Add(1)
		series[w] = make([]time.Duration, 0, per)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				t0 := time.Now()
				if err := op(); err != nil {
					b.Error(err)
					return
				}
				series[w] = append(series[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, s := range series {
		all = append(all, s...)
	}
	if len(all) == 0 {
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 { return float64(all[int(p/100*float64(len(all)-1))].Microseconds()) }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "ops/s")
	b.ReportMetric(pct(50), "p50-µs")
	b.ReportMetric(pct(99), "p99-µs")
}
