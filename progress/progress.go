// Package progress logs how far a long step is (a checkpoint load, a
// replay): done and total, the rate so far and the estimated time left,
// every few seconds.
//
// Guarantees:
//   - A step that ends within the first interval logs nothing.
//   - Report is cheap between log lines (a clock read).
package progress

import (
	"log/slog"
	"time"
)

// Every is how often a long recovery logs how far it is.
const Every = 5 * time.Second

// Logger logs the progress of one step.
type Logger struct {
	logger      *slog.Logger
	msg, unit   string
	start, next time.Time
}

// New is the progress of a step logged as msg, counting unit (e.g. "bytes").
func New(logger *slog.Logger, msg, unit string) *Logger {
	now := time.Now()
	return &Logger{logger: logger, msg: msg, unit: unit, start: now, next: now.Add(Every)}
}

// Report is called as the work advances.
func (p *Logger) Report(done, total uint64) {
	now := time.Now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(Every)
	rate := float64(done) / now.Sub(p.start).Seconds()
	attrs := []any{"done", done, "total", total, p.unit + "_per_s", int64(rate)}
	if rate > 0 && total > done {
		attrs = append(attrs, "eta", time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second).String())
	}
	p.logger.Info(p.msg, attrs...)
}
