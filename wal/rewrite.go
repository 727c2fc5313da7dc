package wal

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Rewrite replaces the values of existing entries (Replace), then purges
// the old values from the disk (Purge). For redaction of a stopped log.
func (l *Log) Rewrite(values map[uint64][]byte) error {
	seqs, err := l.Replace(values)
	if err != nil || len(seqs) == 0 {
		return err
	}
	return l.Purge(seqs[0], seqs[len(seqs)-1])
}

// Replace replaces the values of existing entries (seq → new value) in one
// synced batch and returns their seqs in order. The indexes over the log
// (index.go) are dropped in the same batch: they are derived from the old
// values and may hold them; their reader builds them again. The old values
// stay on the disk until Purge. The caller serialises it with appends (a
// running server's writer waits meanwhile) and removes the checkpoints
// holding data derived from the old values.
func (l *Log) Replace(values map[uint64][]byte) ([]uint64, error) {
	if l.readOnly {
		return nil, fmt.Errorf("wal: rewrite: the log is open read-only")
	}
	seqs := make([]uint64, 0, len(values))
	for seq := range values {
		if seq < l.FirstSeq() || seq > l.LastSeq() {
			return nil, fmt.Errorf("wal: rewrite: seq %d is not in the log (%d..%d)", seq, l.FirstSeq(), l.LastSeq())
		}
		seqs = append(seqs, seq)
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	slices.Sort(seqs)
	b := l.db.NewBatch()
	defer b.Close()
	for _, seq := range seqs {
		if err := b.Set(entryKey(seq), values[seq], nil); err != nil {
			return nil, fmt.Errorf("wal: rewrite: %w", err)
		}
	}
	if err := dropIndexes(b); err != nil {
		return nil, fmt.Errorf("wal: rewrite: %w", err)
	}
	if err := l.commit(b, true); err != nil {
		return nil, fmt.Errorf("wal: rewrite: %w", err)
	}
	return seqs, nil
}

// Purge removes from the disk the old values of the entries from..to that
// Replace overwrote: the memtable is flushed (its WAL file, which may hold
// them, becomes obsolete and is deleted, never recycled), the entries' key
// range compacted, so that the tables that held the old bytes are rewritten
// and deleted, and it waits until Pebble has deleted them. Appends may go
// on meanwhile.
func (l *Log) Purge(from, to uint64) error {
	if err := l.db.Flush(); err != nil {
		return fmt.Errorf("wal: rewrite: flush: %w", err)
	}
	if err := l.db.Compact(context.Background(), entryKey(from), entryKey(to+1), true); err != nil {
		return fmt.Errorf("wal: rewrite: compact: %w", err)
	}
	if err := l.db.Compact(context.Background(), []byte{prefixIndex}, []byte{prefixIndex + 1}, true); err != nil {
		return fmt.Errorf("wal: rewrite: compact the indexes: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), purgeWait)
	defer cancel()
	return l.waitObsolete(ctx)
}

// CompactedBytes is what Pebble's flushes and compactions wrote since the
// log opened: across a Purge, the bytes a redaction rewrote.
func (l *Log) CompactedBytes() uint64 {
	m := l.db.Metrics()
	var n uint64
	for _, lv := range m.Levels {
		n += lv.TableBytesCompacted + lv.TableBytesFlushed
	}
	return n
}

// Obsolete files: Pebble recycles an obsolete WAL file by default, reusing
// it from its start, so that it keeps its old bytes past what is written
// again: an entry overwritten by a redaction would live on in it. The log
// therefore gives Pebble the archive cleaner (with which Pebble recycles
// nothing: it moves obsolete WAL and manifest files to <log>/archive/) and
// deletes each archived file as soon as Pebble reports it (removeArchived).
// The cost is a new, preallocated WAL file at each memtable rotation (every
// 64 MiB of entries) instead of a renamed one.

// archiveDir is where Pebble's archive cleaner moves obsolete files.
const archiveDir = "archive"

// removeArchived deletes the archived copy of an obsolete file Pebble
// reported deleted (its former path).
func removeArchived(fs vfs.FS, path string) {
	if path == "" {
		return
	}
	fs.Remove(fs.PathJoin(fs.PathDir(path), archiveDir, fs.PathBase(path)))
}

// waitObsolete waits, up to a deadline, until Pebble has deleted the
// tables and WAL files it no longer uses (deletion runs in the background,
// and a table an open iterator reads is deleted once it closes).
func (l *Log) waitObsolete(ctx context.Context) error {
	for {
		m := l.db.Metrics()
		if m.Table.ObsoleteCount == 0 && m.Table.ZombieCount == 0 && m.WAL.ObsoleteFiles == 0 && l.removeArchive() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wal: rewrite: old tables still held after %v (tables obsolete %d, held by readers %d; WAL files %d): they are deleted once released",
				purgeWait, m.Table.ObsoleteCount, m.Table.ZombieCount, m.WAL.ObsoleteFiles)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// purgeWait bounds how long Purge waits for Pebble to delete old files.
const purgeWait = 30 * time.Second

// removeArchive deletes what Pebble archived (files it no longer uses,
// also those archived before this process reported them, such as at open)
// and tells whether the archive is empty.
func (l *Log) removeArchive() bool {
	dir := l.fs.PathJoin(l.dir, archiveDir)
	names, _ := l.fs.List(dir)
	for _, n := range names {
		l.fs.Remove(l.fs.PathJoin(dir, n))
	}
	names, _ = l.fs.List(dir)
	return len(names) == 0
}
