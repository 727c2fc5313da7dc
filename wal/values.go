package wal

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// ReadValues calls fn with the seq and value of each entry of from <= seq
// <= to, in order: Read in plain types, so that readers of the log
// (envelope.Values) need not import this package. value is valid only
// during the call.
func (l *Log) ReadValues(from, to uint64, fn func(seq uint64, value []byte) error) error {
	return l.Read(from, to, func(e Entry) error { return fn(e.Seq, e.Data) })
}

// StartAt makes an empty log begin at seq first instead of 1: a replica
// bootstrapped from its primary's checkpoint at first-1 logs the entries
// after it. The log must hold no entry.
func (l *Log) StartAt(first uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.readOnly {
		return errors.New("wal: start at: the log is open read-only")
	}
	if l.last.Load() >= l.first.Load() {
		return fmt.Errorf("wal: start at seq %d: the log holds entries %d..%d", first, l.first.Load(), l.last.Load())
	}
	if first < 1 {
		return fmt.Errorf("wal: start at seq %d: seqs begin at 1", first)
	}
	b := l.db.NewBatch()
	defer b.Close()
	if err := b.Set(metaKey(metaFirst), binary.BigEndian.AppendUint64(nil, first), nil); err != nil {
		return fmt.Errorf("wal: start at: %w", err)
	}
	if err := l.db.Apply(b, pebble.Sync); err != nil {
		l.failed.Store(true)
		return fmt.Errorf("wal: start at: %w", err)
	}
	l.first.Store(first)
	l.last.Store(first - 1)
	return nil
}
