package writer

import (
	"fmt"
	"strings"
	"time"
)

// DurabilityMode says when a command is acknowledged relative to fsync.
type DurabilityMode int

const (
	// Always acknowledges after the log is fsynced: nothing acknowledged is
	// ever lost. The default.
	Always DurabilityMode = iota
	// Interval acknowledges at once and fsyncs in the background every
	// interval: a crash loses at most that window (like Redis everysec).
	Interval
	// None never fsyncs explicitly: for tests and demos.
	None
)

// Durability is a mode and, for Interval, its period.
type Durability struct {
	Mode     DurabilityMode
	Interval time.Duration
}

// ParseDurability reads "always", "none" or "interval=<duration>".
func ParseDurability(s string) (Durability, error) {
	switch {
	case s == "always" || s == "":
		return Durability{Mode: Always}, nil
	case s == "none":
		return Durability{Mode: None}, nil
	case strings.HasPrefix(s, "interval="):
		d, err := time.ParseDuration(strings.TrimPrefix(s, "interval="))
		if err != nil || d <= 0 {
			return Durability{}, fmt.Errorf("durability %q: interval must be a positive duration such as interval=100ms", s)
		}
		return Durability{Mode: Interval, Interval: d}, nil
	}
	return Durability{}, fmt.Errorf("durability %q: want always, none or interval=<duration>", s)
}

func (d Durability) String() string {
	switch d.Mode {
	case Interval:
		return "interval=" + d.Interval.String()
	case None:
		return "none"
	}
	return "always"
}
