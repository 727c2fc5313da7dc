package imago

import (
	"bufio"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// progressEvery is how often a long recovery logs how far it is.
const progressEvery = 5 * time.Second

// progress logs, every few seconds, how far a recovery step is: done and
// total, the rate so far and the estimated time left. A step that ends
// within the first interval logs nothing.
type progress struct {
	logger      *slog.Logger
	msg, unit   string
	start, next time.Time
}

func newProgress(logger *slog.Logger, msg, unit string) *progress {
	now := time.Now()
	return &progress{logger: logger, msg: msg, unit: unit, start: now, next: now.Add(progressEvery)}
}

// report is called as the work advances.
func (p *progress) report(done, total uint64) {
	now := time.Now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(progressEvery)
	rate := float64(done) / now.Sub(p.start).Seconds()
	attrs := []any{"done", done, "total", total, p.unit + "_per_s", int64(rate)}
	if rate > 0 && total > done {
		attrs = append(attrs, "eta", time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second).String())
	}
	p.logger.Info(p.msg, attrs...)
}

// pauseGC turns the garbage collector off for recovery and returns the
// function that turns it back on.
//
// Recovery only grows the heap: each collection marks the whole image built
// so far and finds little garbage, and the collections repeat as the heap
// doubles. Measured on the shop, that was 20-40% of the CPU of a checkpoint
// load or a replay. With the collector off, the heap is still bounded: by
// GOMEMLIMIT if it is set, else by three quarters of the memory of the
// machine or its container (cgroup), past which the runtime collects as
// usual. Where that memory is unknown, nothing changes.
func pauseGC() (resume func()) {
	limit := debug.SetMemoryLimit(-1) // -1 reads it
	if limit == math.MaxInt64 {
		total := memoryAvailable()
		if total <= 0 {
			return func() {}
		}
		debug.SetMemoryLimit(total / 4 * 3)
	}
	percent := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

// memoryAvailable is the memory of the machine, or of the cgroup this
// process runs in if that is less; 0 if unknown (not Linux).
func memoryAvailable() int64 {
	total := meminfoTotal()
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// "max" (no limit) does not parse; v1 writes a huge number for none.
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (total == 0 || n < total) {
			total = n
		}
	}
	return total
}

// meminfoTotal is MemTotal of /proc/meminfo in bytes, or 0.
func meminfoTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
