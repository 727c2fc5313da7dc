package wal

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	pwal "github.com/cockroachdb/pebble/v2/wal"
)

// TestLostTail: a log that lost entries it had synced (its directory
// restored from an older copy, or its last WAL file cut after a crash) is
// refused by Open with a *LostEntriesError naming the missing seqs, until
// AcceptLoss lowers the mark and records the repair; the seqs then go on
// from the log's end.
func TestLostTail(t *testing.T) {
	for _, c := range []struct {
		name string
		lose func(t *testing.T, dir string) (acked uint64)
	}{
		{"restored from an older copy", func(t *testing.T, dir string) uint64 {
			l, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Append(entries(1, 100), true); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			backup := t.TempDir()
			if err := exec.Command("cp", "-a", dir+"/.", backup).Run(); err != nil {
				t.Fatal(err)
			}
			if l, err = Open(dir, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := l.Append(entries(101, 100), false); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := exec.Command("cp", "-a", backup, dir).Run(); err != nil {
				t.Fatal(err)
			}
			return 200
		}},
		{"last WAL file cut after SIGKILL", func(t *testing.T, dir string) uint64 {
			// The child appends for 400ms, then idles until killed: the
			// mark has caught up (a loss of the last second before the
			// mark is written is not the mark's to see).
			acked := runAndKill(t, "idle", dir, 400*time.Millisecond+markInterval+500*time.Millisecond)
			logs, err := pwal.Scan(pwal.Dir{FS: vfs.Default, Dirname: dir})
			if err != nil || len(logs) == 0 {
				t.Fatalf("no WAL: %v", err)
			}
			_, path := logs[len(logs)-1].SegmentLocation(0)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, st.Size()/4); err != nil {
				t.Fatal(err)
			}
			return acked
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			acked := c.lose(t, dir)
			_, err := Open(dir, Options{})
			var lost *LostEntriesError
			if !errors.As(err, &lost) {
				t.Fatalf("open: %v, want a LostEntriesError", err)
			}
			t.Logf("acknowledged up to %d: %v", acked, err)
			if lost.Mark > acked || lost.Last >= lost.Mark || !strings.Contains(err.Error(), "AcceptLoss") {
				t.Fatalf("mark %d last %d (acknowledged %d): %v", lost.Mark, lost.Last, acked, err)
			}
			ro, err := Open(dir, Options{ReadOnly: true})
			if err != nil {
				t.Fatalf("read-only open of a log below its mark: %v", err)
			}
			if got := ro.Lost(); got == nil || *got != *lost {
				t.Fatalf("read-only Lost: %v, want %v", got, lost)
			}
			ro.Close()

			r, err := AcceptLoss(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.From != lost.Last+1 || r.To != lost.Mark {
				t.Fatalf("repair %+v, want %d..%d", r, lost.Last+1, lost.Mark)
			}
			rec, err := os.ReadFile(dir + ".repairs")
			if err != nil || !strings.Contains(string(rec), r.String()) {
				t.Fatalf("repairs file: %q %v", rec, err)
			}
			l, err := Open(dir, Options{})
			if err != nil {
				t.Fatalf("open after AcceptLoss: %v", err)
			}
			defer l.Close()
			if l.Mark() != lost.Last || l.Lost() != nil {
				t.Fatalf("mark %d after AcceptLoss, want %d", l.Mark(), lost.Last)
			}
			if err := l.Append(entries(int(lost.Last+1), 3), true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMarkFile: the mark follows the synced seq, survives a reopen, and a
// damaged mark file stops a writable Open with a *MarkError naming it (a
// read-only one goes on and reports it).
func TestMarkFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	l, err := Open(dir, Options{SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(entries(1, 10), false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * markInterval)
	for l.Mark() != 10 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if l.Mark() != 10 || l.MarkErr() != nil {
		t.Fatalf("mark %d (%v) a while after appending 10 entries", l.Mark(), l.MarkErr())
	}
	if err := l.Append(entries(11, 5), false); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if seq, err := readMark(vfs.Default, dir); seq != 15 || err != nil {
		t.Fatalf("mark after Close: %d %v, want 15", seq, err)
	}
	b, _ := os.ReadFile(MarkPath(dir))
	b[12] ^= 1
	if err := os.WriteFile(MarkPath(dir), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var me *MarkError
	if _, err := Open(dir, Options{}); !errors.As(err, &me) || me.Path != MarkPath(dir) {
		t.Fatalf("open with a damaged mark: %v", err)
	}
	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil || !errors.As(ro.MarkErr(), &me) {
		t.Fatalf("read-only open with a damaged mark: %v, MarkErr %v", err, ro.MarkErr())
	}
	ro.Close()
}

func TestDecodeMark(t *testing.T) {
	good := encodeMark(12345)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"good", good, ""},
		{"short", good[:10], "10 bytes"},
		{"magic", append([]byte("X"), good[1:]...), "bad magic"},
		{"version", append(append(append([]byte{}, good[:8]...), 9), good[9:]...), "version 9"},
		{"flipped", append(append(append([]byte{}, good[:15]...), good[15]^4), good[16:]...), "checksum"},
	} {
		t.Run(c.name, func(t *testing.T) {
			seq, err := decodeMark(c.b)
			if c.want == "" {
				if err != nil || seq != 12345 {
					t.Fatalf("%d %v", seq, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, want %q", err, c.want)
			}
		})
	}
}

// FuzzDecodeMark: any bytes are a seq or an error, never a panic, and a
// decoded seq encodes back to the same bytes.
func FuzzDecodeMark(f *testing.F) {
	f.Add(encodeMark(1))
	f.Add(encodeMark(1 << 60))
	f.Add([]byte("IMAGOHWM"))
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, err := decodeMark(b)
		if err == nil && string(encodeMark(seq)) != string(b) {
			t.Fatalf("%x decoded as %d, which encodes as %x", b, seq, encodeMark(seq))
		}
	})
}
