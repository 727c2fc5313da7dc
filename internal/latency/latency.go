// Package latency collects operation latencies in benchmarks and reports
// throughput and percentiles as benchmark metrics.
package latency

import (
	"sort"
	"sync"
	"testing"
	"time"
)

// Recorder collects latencies from many goroutines. Each goroutine records
// into its own Series to avoid contention; Report merges them.
type Recorder struct {
	mu     sync.Mutex
	series []*Series
}

// Series is one goroutine's latencies.
type Series struct{ d []time.Duration }

// Series returns a new series of the recorder for one goroutine.
func (r *Recorder) Series(capacity int) *Series {
	s := &Series{d: make([]time.Duration, 0, capacity)}
	r.mu.Lock()
	r.series = append(r.series, s)
	r.mu.Unlock()
	return s
}

// Add records one latency.
func (s *Series) Add(d time.Duration) { s.d = append(s.d, d) }

// Percentiles returns the p-th percentiles (0..100) of everything recorded.
func (r *Recorder) Percentiles(ps ...float64) []time.Duration {
	var all []time.Duration
	for _, s := range r.series {
		all = append(all, s.d...)
	}
	out := make([]time.Duration, len(ps))
	if len(all) == 0 {
		return out
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for i, p := range ps {
		idx := int(p / 100 * float64(len(all)-1))
		out[i] = all[idx]
	}
	return out
}

// Report adds ops/s over elapsed and p50/p99 in microseconds to b.
func (r *Recorder) Report(b *testing.B, ops int, elapsed time.Duration) {
	p := r.Percentiles(50, 99)
	b.ReportMetric(float64(ops)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(p[0].Microseconds()), "p50-µs")
	b.ReportMetric(float64(p[1].Microseconds()), "p99-µs")
}
