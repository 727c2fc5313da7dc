package wal

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Cursors are named positions in the log kept in the log's own store, under
// their own key prefix: a consumer of the log (a reactor) records there the
// last seq it has dealt with, so that it resumes after a restart where it
// stopped. A cursor is written without a sync of its own: it reaches stable
// storage with the next synced Append or Sync (at the latest at Close), and
// a crash that loses it makes the consumer redo work, never skip it.

// Cursor returns the seq stored under name, and whether there is one.
func (l *Log) Cursor(name string) (seq uint64, found bool, err error) {
	v, closer, err := l.db.Get(cursorKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("wal: read cursor %q: %w", name, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, false, fmt.Errorf("wal: cursor %q is malformed (%d bytes)", name, len(v))
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// SetCursor stores seq under name. It does not wait for the disk, nor for an
// Append in progress.
func (l *Log) SetCursor(name string, seq uint64) error {
	if l.readOnly {
		return errors.New("wal: set cursor: the log is open read-only")
	}
	if l.failed.Load() {
		return ErrFailed
	}
	b := l.db.NewBatch()
	defer b.Close()
	if err := b.Set(cursorKey(name), binary.BigEndian.AppendUint64(nil, seq), nil); err != nil {
		return fmt.Errorf("wal: set cursor %q: %w", name, err)
	}
	return l.commit(b, false)
}

func cursorKey(name string) []byte { return append([]byte{prefixCursor}, name...) }
