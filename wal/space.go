package wal

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	pwal "github.com/cockroachdb/pebble/v2/wal"
)

// A full disk at start: pebble.Open flushes the WALs it recovers into
// tables, and on ENOSPC it retries the flush forever without a word (the
// attack saw 25 new files a second). Open checks the free space first, and
// watches Pebble's writes during pebble.Open: the first ENOSPC ends Open
// with a *DiskFullError instead of a silent wait.

// minFreeAtOpen is the space Open wants beyond the WALs to recover: a new
// WAL, the MANIFEST and OPTIONS files and the tables' overhead.
const minFreeAtOpen = 64 << 20

// DiskFullError is a log that cannot be opened for want of disk space.
type DiskFullError struct {
	Dir         string
	Avail, Need uint64 // bytes free, and bytes Open wants (0: not known)
	Err         error  // the ENOSPC Pebble met, if it got that far
}

func (e *DiskFullError) Error() string {
	msg := fmt.Sprintf("wal: the disk of %s is full: %d MiB free", e.Dir, e.Avail>>20)
	if e.Need > 0 {
		msg += fmt.Sprintf(", opening the log needs about %d MiB (to flush the WAL it recovers)", e.Need>>20)
	}
	if e.Err != nil {
		msg += fmt.Sprintf(" (%v)", firstLine(e.Err))
	}
	return msg + ": free space on that file system and start again"
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// checkSpace fails with a *DiskFullError when the file system of dir has
// less free space than the WALs to recover plus minFreeAtOpen.
func checkSpace(fs vfs.FS, dir string) error {
	du, err := fs.GetDiskUsage(dir)
	if err != nil {
		return nil // not every file system can tell; the ENOSPC watch remains
	}
	need := uint64(minFreeAtOpen)
	if logs, err := pwal.Scan(pwal.Dir{FS: fs, Dirname: dir}); err == nil {
		for _, ll := range logs {
			if n, err := ll.PhysicalSize(); err == nil {
				need += n
			}
		}
	}
	if du.AvailBytes < need {
		return &DiskFullError{Dir: dir, Avail: du.AvailBytes, Need: need}
	}
	return nil
}

// openWatchingSpace runs pebble.Open and returns at its first ENOSPC with a
// *DiskFullError. Pebble's Open then goes on retrying in the background
// until the process exits (it cannot be stopped from outside): the caller
// is expected to exit with the error.
func openWatchingSpace(dir string, opts *pebble.Options) (*pebble.DB, error) {
	full := make(chan error, 1)
	o := *opts
	o.FS = enospcFS{FS: opts.FS, full: full}
	type result struct {
		db  *pebble.DB
		err error
	}
	done := make(chan result, 1)
	go func() {
		db, err := pebble.Open(dir, &o)
		done <- result{db, err}
	}()
	select {
	case r := <-done:
		return r.db, r.err
	case err := <-full:
		select {
		case r := <-done: // Open ended after all
			return r.db, r.err
		default:
		}
		var avail uint64
		if du, derr := opts.FS.GetDiskUsage(dir); derr == nil {
			avail = du.AvailBytes
		}
		return nil, &DiskFullError{Dir: dir, Avail: avail, Err: err}
	}
}

// enospcFS reports the first ENOSPC of a write, create or sync.
type enospcFS struct {
	vfs.FS
	full chan<- error
}

func (fs enospcFS) note(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		select {
		case fs.full <- err:
		default:
		}
	}
	return err
}

func (fs enospcFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	if err != nil {
		return f, fs.note(err)
	}
	return enospcFile{File: f, fs: fs}, nil
}

func (fs enospcFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	if err != nil {
		return f, fs.note(err)
	}
	return enospcFile{File: f, fs: fs}, nil
}

type enospcFile struct {
	vfs.File
	fs enospcFS
}

func (f enospcFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	return n, f.fs.note(err)
}

func (f enospcFile) Sync() error { return f.fs.note(f.File.Sync()) }
