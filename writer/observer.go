package writer

import "time"

// Observer is told about the writer's work as it happens; a metrics
// exporter implements it. Accepted, Batch and Refused for Apply come from
// the writer goroutine, Refused for Validate from submitters: every method
// must be quick and safe for concurrent use. Replay reports nothing.
type Observer interface {
	// Accepted: a command became durable and visible.
	Accepted(name string)
	// Refused: Validate or Apply refused a command; nothing was logged.
	Refused(name string)
	// Batch: commands were applied in apply and logged in log (one fsync
	// in mode always).
	Batch(commands int, apply, log time.Duration)
}

// noObserver is the Observer of a Config without one.
type noObserver struct{}

func (noObserver) Accepted(string)                         {}
func (noObserver) Refused(string)                          {}
func (noObserver) Batch(int, time.Duration, time.Duration) {}
