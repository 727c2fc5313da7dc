package wal

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// fullFS is a file system that is full: it reports avail bytes free, and
// (if enospc) fails every write to a table with ENOSPC, as a full disk does.
type fullFS struct {
	vfs.FS
	avail  uint64
	enospc bool
}

func (fs fullFS) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	du, err := fs.FS.GetDiskUsage(path)
	du.AvailBytes = fs.avail
	return du, err
}

func (fs fullFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	if err != nil || !fs.enospc || !strings.HasSuffix(name, ".sst") {
		return f, err
	}
	return fullFile{f}, nil
}

type fullFile struct{ vfs.File }

func (fullFile) Write([]byte) (int, error) { return 0, &os.PathError{Op: "write", Err: syscall.ENOSPC} }

// TestOpenDiskFull: on a full disk Open fails at once with a
// *DiskFullError naming the directory and the free space, instead of
// Pebble retrying a flush forever in silence.
func TestOpenDiskFull(t *testing.T) {
	for _, c := range []struct {
		name string
		fs   fullFS
		want string
	}{
		{"too little free space", fullFS{FS: vfs.Default, avail: 1 << 20}, "1 MiB free, opening the log needs about"},
		{"ENOSPC while flushing the recovered WAL", fullFS{FS: vfs.Default, avail: 1 << 40, enospc: true}, "no space left on device"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Not a t.TempDir: after the ENOSPC, Pebble's abandoned flush keeps
			// creating files there (see DiskFullError), and its cleanup would
			// fail; the directory is removed as well as can be.
			parent, err := os.MkdirTemp("", "wal-full")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(parent) })
			live, dir := t.TempDir(), filepath.Join(parent, "log")
			// A copy of a running log (what a crash leaves): its entries
			// are only in the WAL, and Open flushes them to a table.
			l, err := Open(live, Options{})
			if err != nil {
				t.Fatal(err)
			}
			big := make([]Entry, 40)
			for i := range big {
				big[i] = Entry{Seq: uint64(i + 1), Data: make([]byte, 1<<20)}
			}
			if err := l.Append(big, true); err != nil {
				t.Fatal(err)
			}
			if err := exec.Command("cp", "-a", live, dir).Run(); err != nil {
				t.Fatal(err)
			}
			l.Close()

			done := make(chan error, 1)
			go func() {
				l, err := Open(dir, Options{FS: c.fs})
				if err == nil {
					l.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				var full *DiskFullError
				if !errors.As(err, &full) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("open on a full disk: %v, want a DiskFullError with %q", err, c.want)
				}
				t.Logf("%v", err)
			case <-time.After(20 * time.Second):
				t.Fatal("open on a full disk has not returned after 20s")
			}
		})
	}
}
