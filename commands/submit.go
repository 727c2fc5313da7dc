package commands

import (
	"errors"
	"fmt"
	"time"
	"unicode"

	"github.com/imagodb/imago/memdb"
)

// Meta is what a submitter says about a command besides its payload.
type Meta struct {
	// ID is the idempotency key (see CheckKey); when empty Imago generates
	// the envelope's id and nothing is remembered.
	ID    string
	Actor string
	Cause string
}

// Result is the answer to a durable command.
type Result struct {
	Seq   uint64
	Value any // what Apply returned
	// Replayed says the key was seen within the window: Seq and Value are
	// the original command's (Value as JSON) and nothing was applied.
	Replayed bool
}

// Outcome is one command's answer in a batch submitted together.
type Outcome struct {
	Result
	Err error // as a single submission's error
}

// View is a published image: a snapshot and the seq of the last command in
// it. Everything in a View is durable (in durability mode always).
type View struct {
	Snapshot *memdb.Snapshot
	Seq      uint64
	next     chan struct{} // closed when a newer view is published
}

// NewView is the view of snapshot s holding the commands up to seq.
func NewView(s *memdb.Snapshot, seq uint64) *View {
	return &View{Snapshot: s, Seq: seq, next: make(chan struct{})}
}

// Superseded is closed once a newer view is published: a follower waits on
// it, then takes the new View (no publish can slip between the two).
func (v *View) Superseded() <-chan struct{} { return v.next }

// Supersede tells the view's followers a newer one is published. The
// publisher calls it once, after the newer view is visible.
func (v *View) Supersede() { close(v.next) }

// MaxKeyLength bounds an idempotency key, in bytes.
const MaxKeyLength = 200

// DefaultIdempotencyWindow is how long a key is remembered by default.
const DefaultIdempotencyWindow = 24 * time.Hour

// ConflictError is a key reused within the window for another command or
// body: nothing is applied.
type ConflictError struct {
	Key string
	Seq uint64 // the command the key belongs to
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("idempotency key %q was used by seq %d with another command or body; a retry must send the same body, a new request a new key", e.Key, e.Seq)
}

// CheckKey tells whether key can be an idempotency key: 1 to MaxKeyLength
// bytes of printable text.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLength {
		return fmt.Errorf("idempotency key of %d bytes: want 1 to %d", len(key), MaxKeyLength)
	}
	for _, r := range key {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("idempotency key %q: only printable characters", key)
		}
	}
	return nil
}

// Errors the Processor returns. Use errors.Is / errors.As.
var (
	// ErrUnknownCommand: no command of that name or type is registered.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrNotAccepting: the processor is closed or failed stop; nothing is written.
	ErrNotAccepting = errors.New("not accepting writes")
)

// InvalidError is a command that failed its Validate.
type InvalidError struct {
	Command string
	Err     error
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%s: %v", e.Command, e.Err) }
func (e *InvalidError) Unwrap() error { return e.Err }

// RefusedError is a command whose Apply returned an error: it left no trace.
type RefusedError struct {
	Command string
	Err     error
}

func (e *RefusedError) Error() string { return fmt.Sprintf("%s refused: %v", e.Command, e.Err) }
func (e *RefusedError) Unwrap() error { return e.Err }
