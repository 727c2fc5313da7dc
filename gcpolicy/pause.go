// Pause: recovery only grows the heap, so each collection marks the whole
// image built so far and finds little garbage, and the collections repeat as
// the heap doubles. Measured on the shop, that was 20-40% of the CPU of a
// checkpoint load or a replay; Pause turns the collector off meanwhile.

package gcpolicy

import (
	"math"
	"runtime/debug"
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
