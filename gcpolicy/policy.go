package gcpolicy

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
)

// DefaultPercent is the serving GOGC when the environment sets none: the
// collector's CPU share fell from 20-26% at 100 to 10-13% at 400 on
// oltp_read_only (see the package comment); 800 saved 2-5 points more for
// a heap peak of nine times the image instead of five.
const DefaultPercent = 400

// Policy is the collector's setting while serving.
type Policy struct {
	// Percent is GOGC: how far the heap grows past the live heap before a
	// collection, in percent of it; -1 turns the collector off (then Limit
	// alone triggers collections).
	Percent int
	// Limit is the soft memory limit (GOMEMLIMIT) in bytes: past it the
	// runtime collects more often, whatever Percent says; 0 means none.
	Limit int64
}

// Default is the policy for this process: GOGC from the environment, else
// DefaultPercent; GOMEMLIMIT from the environment, else three quarters of
// the memory of the machine or its container (none where that is unknown).
func Default() Policy {
	p := Policy{Percent: DefaultPercent}
	if os.Getenv("GOGC") != "" {
		p.Percent = gcPercent()
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		p.Limit = debug.SetMemoryLimit(-1)
	} else if total := memoryAvailable(); total > 0 {
		p.Limit = total / 4 * 3
	}
	return p
}

// Check reports a policy the runtime cannot take.
func (p Policy) Check() error {
	switch {
	case p.Percent < -1:
		return fmt.Errorf("gc percent %d: want -1 (off), 0 or more", p.Percent)
	case p.Limit < 0:
		return fmt.Errorf("memory limit %d: want 0 (none) or more bytes", p.Limit)
	case p.Percent == -1 && p.Limit == 0:
		return fmt.Errorf("gc percent -1 (off) needs a memory limit, or the heap grows without bound")
	}
	return nil
}

// Apply sets the policy for the whole process and returns the function that
// restores the settings from before.
func (p Policy) Apply() (restore func()) {
	limit := int64(math.MaxInt64)
	if p.Limit > 0 {
		limit = p.Limit
	}
	oldLimit := debug.SetMemoryLimit(limit)
	oldPercent := debug.SetGCPercent(p.Percent)
	return func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}
}

// String is the policy as GOGC and GOMEMLIMIT would write it.
func (p Policy) String() string {
	percent, limit := "off", "none"
	if p.Percent >= 0 {
		percent = fmt.Sprint(p.Percent)
	}
	if p.Limit > 0 {
		limit = fmt.Sprintf("%dMiB", p.Limit>>20)
	}
	return "GOGC=" + percent + " GOMEMLIMIT=" + limit
}

// gcPercent reads GOGC as the runtime has it.
func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}
