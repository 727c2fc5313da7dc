// Package gcpause turns the garbage collector off while a process only
// grows its heap (a recovery: a checkpoint load, a replay) and back on after.
//
// Recovery only grows the heap: each collection marks the whole image built
// so far and finds little garbage, and the collections repeat as the heap
// doubles. Measured on the shop, that was 20-40% of the CPU of a checkpoint
// load or a replay.
//
// Guarantees:
//   - Pauses nest and overlap (two databases opened at once): the collector
//     is off while at least one pause is held and is restored to the
//     settings from before the first once the last is released.
//   - While paused, the heap stays bounded: by GOMEMLIMIT if it is set, else
//     by three quarters of the memory of the machine or its container
//     (cgroup), past which the runtime collects as usual. Where that memory
//     is unknown, Pause changes nothing.
package gcpause

import (
	"bufio"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

var (
	mu      sync.Mutex
	holders int   // pauses held
	percent int   // GOGC before the first pause
	limit   int64 // the memory limit before the first pause
)

// Pause turns the garbage collector off and returns the function that
// releases this pause (call it once; later calls do nothing).
func Pause() (resume func()) {
	mu.Lock()
	defer mu.Unlock()
	if holders == 0 {
		limit = debug.SetMemoryLimit(-1) // -1 reads it
		if limit == math.MaxInt64 {
			total := memoryAvailable()
			if total <= 0 {
				return func() {}
			}
			debug.SetMemoryLimit(total / 4 * 3)
		}
		percent = debug.SetGCPercent(-1)
	}
	holders++
	var once sync.Once
	return func() { once.Do(release) }
}

// release drops one pause; the last restores the settings.
func release() {
	mu.Lock()
	defer mu.Unlock()
	if holders--; holders == 0 {
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
