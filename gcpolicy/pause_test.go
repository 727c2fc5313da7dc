package gcpolicy

import (
	"runtime/debug"
	"testing"
)

// TestOverlappingPauses: two pauses released out of order (two databases
// opened at once) restore the collector, not leave it off.
func TestOverlappingPauses(t *testing.T) {
	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	if before < 0 {
		t.Skip("GOGC=off in this environment")
	}
	for _, order := range []string{"a then b", "b then a"} {
		t.Run(order, func(t *testing.T) {
			a := Pause()
			b := Pause()
			if memoryAvailable() > 0 && gcPercent() != -1 {
				t.Fatalf("GC percent %d while paused, want -1 (off)", gcPercent())
			}
			if order == "a then b" {
				a()
				if memoryAvailable() > 0 && gcPercent() != -1 {
					t.Fatal("the collector came back while a pause is still held")
				}
				b()
			} else {
				b()
				a()
			}
			a() // a second release changes nothing
			if got := gcPercent(); got != before {
				t.Fatalf("GC percent %d after both released, want %d", got, before)
			}
		})
	}
}
