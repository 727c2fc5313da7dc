package gcpolicy

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	for _, c := range []struct {
		name   string
		policy Policy
		want   string // "" for a policy the runtime takes
	}{
		{"default shape", Policy{Percent: 400, Limit: 1 << 30}, ""},
		{"no limit", Policy{Percent: 100}, ""},
		{"off with a limit", Policy{Percent: -1, Limit: 1 << 30}, ""},
		{"off without a limit", Policy{Percent: -1}, "needs a memory limit"},
		{"below off", Policy{Percent: -2, Limit: 1 << 30}, "gc percent -2"},
		{"negative limit", Policy{Percent: 100, Limit: -1}, "memory limit -1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.policy.Check()
			if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("Check() = %v, want %q", err, c.want)
			}
		})
	}
}

// TestApplyRestores: a policy is in force after Apply, and the settings from
// before are back after its restore, with a pause in between restoring to
// the policy, not to what was before it.
func TestApplyRestores(t *testing.T) {
	percent, limit := gcPercent(), debug.SetMemoryLimit(-1)
	restore := Policy{Percent: 333, Limit: 3 << 30}.Apply()
	if gcPercent() != 333 || debug.SetMemoryLimit(-1) != 3<<30 {
		t.Fatalf("after Apply: GOGC %d, limit %d", gcPercent(), debug.SetMemoryLimit(-1))
	}
	Pause()()
	if gcPercent() != 333 || debug.SetMemoryLimit(-1) != 3<<30 {
		t.Fatalf("after a pause: GOGC %d, limit %d; want the policy back", gcPercent(), debug.SetMemoryLimit(-1))
	}
	restore()
	if gcPercent() != percent || debug.SetMemoryLimit(-1) != limit {
		t.Fatalf("after restore: GOGC %d, limit %d; want %d, %d", gcPercent(), debug.SetMemoryLimit(-1), percent, limit)
	}
}

// TestDefaultKeepsEnvironment: GOGC and GOMEMLIMIT set for the process are
// the default policy; without them it is DefaultPercent and a limit below
// the machine's memory.
func TestDefaultKeepsEnvironment(t *testing.T) {
	t.Run("unset", func(t *testing.T) {
		t.Setenv("GOGC", "")
		t.Setenv("GOMEMLIMIT", "")
		p := Default()
		if p.Percent != DefaultPercent {
			t.Errorf("percent %d, want %d", p.Percent, DefaultPercent)
		}
		if total := memoryAvailable(); total > 0 && (p.Limit <= 0 || p.Limit >= total) {
			t.Errorf("limit %d, want within the machine's %d bytes", p.Limit, total)
		}
	})
	t.Run("set", func(t *testing.T) {
		// The runtime read them at start; the test sets what it would have.
		restore := Policy{Percent: 150, Limit: 5 << 30}.Apply()
		defer restore()
		t.Setenv("GOGC", "150")
		t.Setenv("GOMEMLIMIT", "5GiB")
		if p := Default(); p != (Policy{Percent: 150, Limit: 5 << 30}) {
			t.Errorf("Default() = %+v, want the environment's GOGC=150 GOMEMLIMIT=5GiB", p)
		}
	})
}
