package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
	"github.com/cockroachdb/pebble/v2/record"
	"github.com/cockroachdb/pebble/v2/vfs"
	pwal "github.com/cockroachdb/pebble/v2/wal"
)

// A damaged WAL file (a flipped byte, a zeroed block) makes pebble.Open
// fail with "pebble/record: invalid chunk", naming neither the file nor
// what it held, and the log then cannot be opened even to look at it.
// FindWALDamage reads the WAL files with Pebble's own reader (pebble/wal,
// record) to say where, and which entries come before; Open returns that as
// a *WALDamageError, and Options.InspectDamage opens such a log read-only
// with the damaged file cut at the damage (and later WAL files hidden), so
// that the verifier can read everything before it.

// WALDamageError is a Pebble WAL file damaged in the middle: Pebble refuses
// to open the log. Entries up to LastGood were read before the damage (from
// the WAL files; older entries are in tables); what the file held after
// Offset cannot be read from it.
type WALDamageError struct {
	Dir      string
	File     string // the damaged WAL file
	Offset   int64  // where the first unreadable record begins
	LastGood uint64 // the highest entry seq read from the WAL files before it (0: none)
	Err      error  // what Pebble's reader met
}

func (e *WALDamageError) Error() string {
	return fmt.Sprintf("wal: the log in %s cannot be opened: WAL file %s is damaged at offset %d (%s); "+
		"entries up to seq %d are readable before it. Restore the log directory from a backup that holds the "+
		"entries after it, or run the log verifier (it opens a damaged log read-only, see Options.InspectDamage) "+
		"to see what is readable", e.Dir, filepath.Base(e.File), e.Offset, firstLine(e.Err), e.LastGood)
}

func (e *WALDamageError) Unwrap() error { return e.Err }

// FindWALDamage reads every Pebble WAL file of the log in dir, in order,
// and returns the first damage found (nil if none): a record that cannot be
// read, other than a torn end of the last file (what a crash leaves, and
// Pebble drops). fs nil is the OS's file system.
func FindWALDamage(dir string, fs vfs.FS) (*WALDamageError, error) {
	if fs == nil {
		fs = vfs.Default
	}
	logs, err := pwal.Scan(pwal.Dir{FS: fs, Dirname: dir})
	if err != nil {
		return nil, fmt.Errorf("wal: list the WAL files of %s: %w", dir, err)
	}
	var lastGood uint64
	for i, ll := range logs {
		damage, err := scanWAL(ll, i == len(logs)-1, &lastGood)
		if err != nil || damage != nil {
			if damage != nil {
				damage.Dir = dir
			}
			return damage, err
		}
	}
	return nil, nil
}

// scanWAL reads one WAL, raising lastGood to each entry seq it holds.
func scanWAL(ll pwal.LogicalLog, last bool, lastGood *uint64) (*WALDamageError, error) {
	r := ll.OpenForRead()
	defer r.Close()
	var buf bytes.Buffer
	for {
		rec, off, err := r.NextRecord()
		if err == nil {
			buf.Reset()
			_, err = io.Copy(&buf, rec)
		}
		switch {
		case errors.Is(err, io.EOF):
			return nil, nil
		case errors.Is(err, record.ErrUnexpectedEOF) && last:
			return nil, nil // a torn tail: Pebble drops it
		case err != nil && (invalidRecord(err) || errors.Is(err, pebble.ErrCorruption)):
			_, path := ll.SegmentLocation(0)
			if off.PhysicalFile != "" {
				path = off.PhysicalFile
			}
			return &WALDamageError{File: path, Offset: off.Physical, LastGood: *lastGood, Err: err}, nil
		case err != nil:
			return nil, fmt.Errorf("wal: read WAL %s: %w", ll, err)
		}
		entriesIn(buf.Bytes(), lastGood)
	}
}

// invalidRecord is record.IsInvalidRecord through wrapping (it compares
// with ==).
func invalidRecord(err error) bool {
	return errors.Is(err, record.ErrInvalidChunk) || errors.Is(err, record.ErrZeroedChunk) ||
		errors.Is(err, record.ErrUnexpectedEOF)
}

// entriesIn raises top to the highest entry seq set by the batch repr b.
func entriesIn(b []byte, top *uint64) {
	r := batchrepr.Read(b)
	for {
		kind, key, _, ok, err := r.Next()
		if !ok || err != nil {
			return
		}
		if kind == pebble.InternalKeyKindSet && len(key) == 9 && key[0] == prefixEntry {
			if seq, err := decodeKey(key); err == nil && seq > *top {
				*top = seq
			}
		}
	}
}

// openDamaged opens the log in dir read-only with d's file cut at the
// damage and the WAL files after it hidden: what comes before is readable.
func openDamaged(dir string, opts *pebble.Options, d *WALDamageError) (*pebble.DB, error) {
	logs, err := pwal.Scan(pwal.Dir{FS: opts.FS, Dirname: dir})
	if err != nil {
		return nil, err
	}
	cut := cutFS{FS: opts.FS, file: d.File, size: d.Offset, hide: map[string]bool{}}
	after := false
	for _, ll := range logs {
		for i := range ll.NumSegments() {
			_, path := ll.SegmentLocation(i)
			if after {
				cut.hide[filepath.Base(path)] = true
			}
			after = after || path == d.File
		}
	}
	o := *opts
	o.FS = cut
	return pebble.Open(dir, &o)
}

// cutFS shows one file cut at size, and hides some names from List: a
// read-only view, nothing on disk changes.
type cutFS struct {
	vfs.FS
	file string
	size int64
	hide map[string]bool
}

func (fs cutFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.Open(name, opts...)
	if err != nil || name != fs.file {
		return f, err
	}
	return &cutFile{File: f, size: fs.size}, nil
}

func (fs cutFS) List(dir string) ([]string, error) {
	names, err := fs.FS.List(dir)
	kept := names[:0]
	for _, n := range names {
		if !fs.hide[n] {
			kept = append(kept, n)
		}
	}
	return kept, err
}

func (fs cutFS) Stat(name string) (vfs.FileInfo, error) {
	fi, err := fs.FS.Stat(name)
	if err != nil || name != fs.file {
		return fi, err
	}
	return cutInfo{FileInfo: fi, size: fs.size}, nil
}

type cutFile struct {
	vfs.File
	size, pos int64
}

func (f *cutFile) Read(p []byte) (int, error) {
	if f.pos >= f.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), f.size-f.pos)]
	n, err := f.File.Read(p)
	f.pos += int64(n)
	return n, err
}

func (f *cutFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.size {
		return 0, io.EOF
	}
	short := int64(len(p)) > f.size-off
	n, err := f.File.ReadAt(p[:min(int64(len(p)), f.size-off)], off)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

func (f *cutFile) Stat() (vfs.FileInfo, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return fi, err
	}
	return cutInfo{FileInfo: fi, size: f.size}, nil
}

type cutInfo struct {
	vfs.FileInfo
	size int64
}

func (i cutInfo) Size() int64 { return i.size }
