package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// The high-water mark: a lost tail of the log is noticed.
//
// Pebble's files are what a lost tail loses: a truncated last WAL file, or a
// log directory restored from an older backup, opens cleanly at an earlier
// seq, and a server started on it would hand out those seqs again. So the
// highest synced seq is also kept in a small file beside the log's directory
// (MarkPath: "<dir>.mark"), rewritten atomically (a temporary file, fsync,
// rename, fsync of the directory) by a background goroutine at most once per
// markInterval after syncs advanced it, and at Close. Open refuses a log
// whose last seq is below the mark with a *LostEntriesError; AcceptLoss
// lowers the mark for an operator who chose to go on without the entries,
// and records that it did in "<dir>.repairs".
//
// The bound, honestly: the mark lags the synced seq by up to markInterval
// (plus an fsync), so a loss of entries synced within the last second before
// the mark was written is not seen by the mark alone; other evidence (a
// checkpoint past the log's end) is the caller's to check. Nothing on
// Append's path touches the mark: the goroutine reads SyncedSeq.

// markInterval is how often, at most, the mark is rewritten: one small
// fsynced write and rename per second while the log grows.
const markInterval = time.Second

// Mark file format: magic (8 bytes), version (1), seq (8, big-endian),
// CRC-32C of the preceding 17 bytes (4, big-endian).
const (
	markMagic   = "IMAGOHWM"
	markVersion = 1
	markSize    = 8 + 1 + 8 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarkPath is where the log in dir keeps its high-water mark: beside the
// directory, not in it, so that a lost or restored directory does not take
// the mark with it.
func MarkPath(dir string) string { return filepath.Clean(dir) + ".mark" }

// repairsPath is the file of repair records beside the log in dir.
func repairsPath(dir string) string { return filepath.Clean(dir) + ".repairs" }

// MarkError is a mark file that cannot be read.
type MarkError struct {
	Path string
	Err  error
}

func (e *MarkError) Error() string {
	return fmt.Sprintf("wal: high-water mark %s is unreadable: %v (if the log is known to be whole, remove the file: it is rewritten at the next sync)", e.Path, e.Err)
}

func (e *MarkError) Unwrap() error { return e.Err }

// LostEntriesError is a log that ends before its high-water mark: entries
// Last+1..Mark were synced once and are gone (a truncated WAL file, or a log
// directory restored from an older backup).
type LostEntriesError struct {
	Dir        string
	Mark, Last uint64
}

func (e *LostEntriesError) Error() string {
	return fmt.Sprintf("wal: the log in %s ends at seq %d but entries up to %d were synced (high-water mark %s): "+
		"seqs %d..%d are missing. Restore the log directory from a copy that holds them, or accept their loss "+
		"explicitly with wal.AcceptLoss, which lowers the mark to %d and records the repair in %s",
		e.Dir, e.Last, e.Mark, MarkPath(e.Dir), e.Last+1, e.Mark, e.Last, repairsPath(e.Dir))
}

// encodeMark is the mark file's bytes for seq.
func encodeMark(seq uint64) []byte {
	b := make([]byte, 0, markSize)
	b = append(b, markMagic...)
	b = append(b, markVersion)
	b = binary.BigEndian.AppendUint64(b, seq)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeMark reads a mark file's bytes.
func decodeMark(b []byte) (uint64, error) {
	switch {
	case len(b) != markSize:
		return 0, fmt.Errorf("%d bytes, want %d", len(b), markSize)
	case string(b[:8]) != markMagic:
		return 0, errors.New("not a mark file (bad magic)")
	case b[8] != markVersion:
		return 0, fmt.Errorf("unknown version %d", b[8])
	case crc32.Checksum(b[:17], castagnoli) != binary.BigEndian.Uint32(b[17:]):
		return 0, errors.New("checksum mismatch")
	}
	return binary.BigEndian.Uint64(b[9:17]), nil
}

// readMark reads the mark of the log in dir: 0 if there is none (a new log,
// or one from before marks).
func readMark(fs vfs.FS, dir string) (uint64, error) {
	path := MarkPath(dir)
	f, err := fs.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, &MarkError{Path: path, Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, markSize+1))
	if err != nil {
		return 0, &MarkError{Path: path, Err: err}
	}
	seq, err := decodeMark(b)
	if err != nil {
		return 0, &MarkError{Path: path, Err: err}
	}
	return seq, nil
}

// writeMark replaces the mark of the log in dir with seq, atomically and
// durably: a crash leaves the old mark or the new one.
func writeMark(fs vfs.FS, dir string, seq uint64) error {
	path := MarkPath(dir)
	tmp := path + ".tmp"
	if err := writeSynced(fs, tmp, encodeMark(seq)); err != nil {
		return fmt.Errorf("wal: write high-water mark: %w", err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		return fmt.Errorf("wal: write high-water mark: %w", err)
	}
	if err := syncDir(fs, filepath.Dir(path)); err != nil {
		return fmt.Errorf("wal: write high-water mark: %w", err)
	}
	return nil
}

func writeSynced(fs vfs.FS, path string, b []byte) error {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// markLoop rewrites the mark when the synced seq passed it, at most once
// per markInterval, until stop is closed. A failed write is retried at the
// next tick and reported by Close (MarkErr meanwhile): the mark is a check,
// not the log, so it does not stop appends.
func (l *Log) markLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(markInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			l.advanceMark(l.synced.Load())
		}
	}
}

// advanceMark writes seq as the mark if it is above the one written.
func (l *Log) advanceMark(seq uint64) {
	l.markMu.Lock()
	defer l.markMu.Unlock()
	if seq <= l.marked {
		return
	}
	err := writeMark(l.fs, l.dir, seq)
	if err == nil {
		l.marked = seq
	}
	l.markErr.Store(&err)
}

// MarkErr is the error of the last attempt to write the high-water mark
// (nil: it succeeded, or none was needed yet). The caller may report it: a
// mark that cannot be written leaves a lost tail unnoticed, nothing else.
func (l *Log) MarkErr() error {
	if p := l.markErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Mark is the high-water mark: the highest seq known to have been synced to
// this log, as last written beside it (0: none).
func (l *Log) Mark() uint64 {
	l.markMu.Lock()
	defer l.markMu.Unlock()
	return l.marked
}

// Lost reports a log that ends before its high-water mark (nil if it does
// not). Open refuses such a log unless it is opened ReadOnly, for tools to
// inspect.
func (l *Log) Lost() *LostEntriesError {
	if m := l.Mark(); m > l.LastSeq() {
		return &LostEntriesError{Dir: l.dir, Mark: m, Last: l.LastSeq()}
	}
	return nil
}

// Repair is what AcceptLoss did.
type Repair struct {
	Time       time.Time
	Dir        string
	From, To   uint64 // the seqs given up (From > To: none)
	OldMark    uint64
	RecordPath string // the file the repair was recorded in
}

func (r Repair) String() string {
	return fmt.Sprintf("%s accepted the loss of seqs %d..%d of the log in %s (high-water mark lowered from %d to %d)",
		r.Time.UTC().Format(time.RFC3339), r.From, r.To, r.Dir, r.OldMark, r.From-1)
}

// AcceptLoss lowers the high-water mark of the log in dir (not open
// elsewhere) to the log's last seq: the operator's explicit decision to go
// on without entries that were lost (see LostEntriesError). The repair is
// appended to "<dir>.repairs" (time and seqs given up) before the mark is
// lowered. A log not below its mark is left alone (Repair.From > To).
func AcceptLoss(dir string, o Options) (Repair, error) {
	o.acceptLoss = true
	l, err := Open(dir, o)
	if err != nil {
		return Repair{}, err
	}
	defer l.Close()
	r := Repair{Time: time.Now(), Dir: dir, OldMark: l.Mark(), From: l.LastSeq() + 1, To: l.Mark(), RecordPath: repairsPath(dir)}
	if r.To < r.From {
		return r, nil
	}
	if err := appendRepair(l.fs, r); err != nil {
		return Repair{}, err
	}
	l.markMu.Lock()
	defer l.markMu.Unlock()
	if err := writeMark(l.fs, dir, l.LastSeq()); err != nil {
		return Repair{}, err
	}
	l.marked = l.LastSeq()
	return r, nil
}

// appendRepair appends r's line to the repairs file, synced.
func appendRepair(fs vfs.FS, r Repair) error {
	var old []byte
	if f, err := fs.Open(r.RecordPath); err == nil {
		old, err = io.ReadAll(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("wal: record the repair: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("wal: record the repair: %w", err)
	}
	tmp := r.RecordPath + ".tmp"
	if err := writeSynced(fs, tmp, append(old, r.String()+"\n"...)); err != nil {
		return fmt.Errorf("wal: record the repair: %w", err)
	}
	if err := fs.Rename(tmp, r.RecordPath); err != nil {
		return fmt.Errorf("wal: record the repair: %w", err)
	}
	if err := syncDir(fs, filepath.Dir(r.RecordPath)); err != nil {
		return fmt.Errorf("wal: record the repair: %w", err)
	}
	return nil
}
