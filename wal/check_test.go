package wal

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// randomEntries are entries of incompressible bytes: compression keeps them
// as literals, so each can be found in the files of a closed log.
func randomEntries(n int) []Entry {
	rng := rand.New(rand.NewPCG(1, 2))
	es := make([]Entry, n)
	for i := range es {
		data := make([]byte, 64)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		es[i] = Entry{Seq: uint64(i + 1), Data: data}
	}
	return es
}

// flipInFiles flips one byte in the middle of the only occurrence of data
// among dir's files and returns the file's name.
func flipInFiles(t *testing.T, dir string, data []byte) string {
	t.Helper()
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		path := filepath.Join(dir, f.Name())
		b, err := os.ReadFile(path)
		if err != nil || f.IsDir() {
			continue
		}
		if at := bytes.Index(b, data); at >= 0 {
			b[at+len(data)/2] ^= 0x40
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return f.Name()
		}
	}
	t.Fatal("entry not found in any file of the log")
	return ""
}

func TestCheckStepsOverDamage(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	es := randomEntries(20000)
	for i := 0; i < len(es); i += 1000 {
		if err := l.Append(es[i:i+1000], true); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	const target = 12345
	file := flipInFiles(t, dir, es[target-1].Data)
	if filepath.Ext(file) != ".sst" {
		t.Fatalf("entry %d was in %s: Close should have flushed it to a table", target, file)
	}

	l, err = Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tables, err := l.CheckTables()
	if err != nil || len(tables) != 1 || filepath.Base(tables[0].File) != file || tables[0].From > target || tables[0].To < target {
		t.Fatalf("CheckTables: %v %v; want %s, holding %d", tables, err, file, target)
	}
	t.Logf("CheckTables: %v", tables[0])
	readErr := l.Read(1, l.LastSeq(), func(Entry) error { return nil })
	var unreadable *UnreadableError
	if !errors.As(readErr, &unreadable) || unreadable.Seq > target {
		t.Fatalf("Read: %v; want an UnreadableError at or before %d", readErr, target)
	}
	var read []uint64
	damage, err := l.Check(func(e Entry) error {
		if !bytes.Equal(e.Data, es[e.Seq-1].Data) {
			t.Errorf("entry %d read back as other bytes", e.Seq)
		}
		read = append(read, e.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(damage) != 1 || damage[0].From != unreadable.Seq || damage[0].From > target || damage[0].To < target {
		t.Fatalf("damage %+v; want one run from %d covering %d", damage, unreadable.Seq, target)
	}
	t.Logf("flipped a byte of entry %d in %s: damage %d..%d (%v)", target, file, damage[0].From, damage[0].To, damage[0].Err)
	lost := damage[0].To - damage[0].From + 1
	if lost > 1000 || uint64(len(read))+lost != uint64(len(es)) {
		t.Fatalf("read %d entries and %d damaged, of %d", len(read), lost, len(es))
	}
	for i := 1; i < len(read); i++ {
		if read[i] <= read[i-1] {
			t.Fatalf("entries out of order: %d after %d", read[i], read[i-1])
		}
	}
}

func TestOpenLockedAndMissing(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Open(dir, Options{ReadOnly: true}); !errors.Is(err, ErrLocked) {
		t.Errorf("second open of a log in use: %v, want ErrLocked", err)
	}
	if _, err := Open(filepath.Join(dir, "nothing"), Options{ReadOnly: true}); err == nil || errors.Is(err, ErrLocked) {
		t.Errorf("read-only open of a missing log: %v, want a not-found error", err)
	}
}
