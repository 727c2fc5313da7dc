package wal

import (
	"context"
	"fmt"
	"slices"
)

// Rewrite replaces the values of existing entries (seq → new value) in one
// synced batch, then purges the old values from the disk: the memtable is
// flushed and the entries' key range compacted, so that the tables that
// held the old bytes are rewritten and deleted. For redaction, on a
// stopped log (the writer must not run); the caller also removes
// checkpoints holding derived data.
func (l *Log) Rewrite(values map[uint64][]byte) error {
	if l.readOnly {
		return fmt.Errorf("wal: rewrite: the log is open read-only")
	}
	if len(values) == 0 {
		return nil
	}
	seqs := make([]uint64, 0, len(values))
	for seq := range values {
		if seq < l.FirstSeq() || seq > l.LastSeq() {
			return fmt.Errorf("wal: rewrite: seq %d is not in the log (%d..%d)", seq, l.FirstSeq(), l.LastSeq())
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	b := l.db.NewBatch()
	defer b.Close()
	for _, seq := range seqs {
		if err := b.Set(entryKey(seq), values[seq], nil); err != nil {
			return fmt.Errorf("wal: rewrite: %w", err)
		}
	}
	if err := l.commit(b, true); err != nil {
		return fmt.Errorf("wal: rewrite: %w", err)
	}
	if err := l.db.Flush(); err != nil {
		return fmt.Errorf("wal: rewrite: flush: %w", err)
	}
	if err := l.db.Compact(context.Background(), entryKey(seqs[0]), entryKey(seqs[len(seqs)-1]+1), true); err != nil {
		return fmt.Errorf("wal: rewrite: compact: %w", err)
	}
	return nil
}
