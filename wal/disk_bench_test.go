package wal

import (
	"crypto/rand"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
)

// diskEntrySize is a shop command's size in the log; half of each entry is
// random, as commands compress about 2:1.
const diskEntrySize = 200

// logEntries appends n entries in batches of 16, as the writer's group
// commits do under load, and syncs them.
func logEntries(tb testing.TB, l *Log, n int) {
	tb.Helper()
	const batch = 16
	for seq := uint64(1); seq <= uint64(n); seq += batch {
		es := make([]Entry, batch)
		for j := range es {
			data := make([]byte, diskEntrySize)
			rand.Read(data[:diskEntrySize/2])
			es[j] = Entry{Seq: seq + uint64(j), Data: data}
		}
		if err := l.Append(es, false); err != nil {
			tb.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		tb.Fatal(err)
	}
}

// TestDiskNearEntries: a log's directory holds its entries plus a bounded
// overhead (Pebble's preallocated WAL files, the MANIFEST),
// running and stopped; a 64 MiB memtable held 590 MB for 40 MB of entries.
func TestDiskNearEntries(t *testing.T) {
	const entries = 100_000
	const overhead = 24 << 20 // four WAL files of 1.1 × 4 MiB, and change
	dir := t.TempDir()
	l, err := Open(dir, Options{SyncInterval: 20e6})
	if err != nil {
		t.Fatal(err)
	}
	logEntries(t, l, entries)
	running := allocatedBytes(t, dir)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	stopped := allocatedBytes(t, dir)
	for _, c := range []struct {
		when  string
		bytes int64
	}{{"running", running}, {"stopped", stopped}} {
		if limit := int64(entries*diskEntrySize + overhead); c.bytes > limit {
			t.Errorf("%s: the log's directory takes %d bytes for %d entries of %d bytes (limit %d)", c.when, c.bytes, entries, diskEntrySize, limit)
		}
	}
}

// BenchmarkDiskPerEntry logs 200,000 entries of 200 bytes and reports the
// bytes the log's directory allocates per entry while open and after
// Close, against the entries' own 200 bytes: what Pebble's WAL
// preallocation, memtable flushes and compactions cost on disk.
func BenchmarkDiskPerEntry(b *testing.B) {
	const entries = 200_000
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		l, err := Open(dir, Options{SyncInterval: 20e6})
		if err != nil {
			b.Fatal(err)
		}
		logEntries(b, l, entries)
		running := allocatedBytes(b, dir)
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		stopped := allocatedBytes(b, dir)
		b.ReportMetric(float64(running)/entries, "B/entry-running")
		b.ReportMetric(float64(stopped)/entries, "B/entry-stopped")
		b.ReportMetric(diskEntrySize, "B/entry-own")
	}
}

// allocatedBytes is the disk space the files under dir take (their blocks,
// so a preallocated file counts at its allocated size, as du shows it).
func allocatedBytes(tb testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
