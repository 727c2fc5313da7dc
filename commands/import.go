package commands

import (
	"fmt"
	"time"
)

// Import is one command of another system's history, brought into Imago
// with its original metadata (see writer.Writer.Import): what a live
// submission has stamped at accept is given here.
type Import struct {
	Command Command
	// Time is when the original system accepted it (UTC, at most
	// microseconds: what DATETIME(6) holds).
	Time time.Time
	// Meta.ID is its original id (empty: one is generated); it is not an
	// idempotency key, nothing is remembered. Meta.Actor is who submitted
	// it there (empty: the importer); Meta.Cause what caused it, if anything.
	Meta Meta
}

// ImportError is why an import was refused as a whole: the item (0-based,
// in the order given) that failed, and its error (an *InvalidError, a
// *RefusedError, a *TimeError, ...). Nothing of the import was applied.
type ImportError struct {
	Item    int
	Command string
	ID      string // the item's id, if it had one
	Err     error
}

func (e *ImportError) Error() string {
	id := ""
	if e.ID != "" {
		id = fmt.Sprintf(" id %q", e.ID)
	}
	return fmt.Sprintf("item %d (%s%s): %v; nothing of the import was applied", e.Item, e.Command, id, e.Err)
}

func (e *ImportError) Unwrap() error { return e.Err }

// TimeError is an imported time out of order: before the one before it,
// before the log's last entry, in the future, or finer than a microsecond.
type TimeError struct {
	Time   time.Time
	Reason string
}

func (e *TimeError) Error() string {
	return fmt.Sprintf("time %s %s", e.Time.Format(time.RFC3339Nano), e.Reason)
}
