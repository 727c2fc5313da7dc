package wal

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWALDamage: a flipped byte in a WAL file (entries not yet in tables)
// makes Open fail with a *WALDamageError naming the file, the offset and
// the last entry before the damage; InspectDamage opens the log read-only
// with everything before the damage readable.
func TestWALDamage(t *testing.T) {
	live := t.TempDir()
	l, err := Open(live, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	es := randomEntries(3000)
	for i := 0; i < len(es); i += 100 {
		if err := l.Append(es[i:i+100], true); err != nil {
			t.Fatal(err)
		}
	}
	// A copy of a running log's directory: what a crash leaves (every
	// Append was synced), entries only in the WAL.
	dir := filepath.Join(t.TempDir(), "log")
	if err := exec.Command("cp", "-a", live, dir).Run(); err != nil {
		t.Fatal(err)
	}
	const target = 2222
	file := flipInFiles(t, dir, es[target-1].Data)
	if filepath.Ext(file) != ".log" {
		t.Fatalf("entry %d was in %s, want a WAL file", target, file)
	}

	_, err = Open(dir, Options{})
	var d *WALDamageError
	if !errors.As(err, &d) {
		t.Fatalf("open: %v, want a WALDamageError", err)
	}
	t.Logf("open: %v", err)
	if filepath.Base(d.File) != file || d.LastGood >= target || d.LastGood < target-200 || d.Offset <= 0 ||
		!strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "Restore") {
		t.Fatalf("damage %+v in %s, want %s before %d", d, err, file, target)
	}
	if _, err := Open(dir, Options{ReadOnly: true}); !errors.As(err, &d) {
		t.Fatalf("read-only open: %v, want a WALDamageError", err)
	}

	ro, err := Open(dir, Options{ReadOnly: true, InspectDamage: true})
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	defer ro.Close()
	if ro.WALDamage() == nil || ro.WALDamage().LastGood != d.LastGood || ro.LastSeq() != d.LastGood {
		t.Fatalf("inspect: last seq %d, damage %v; want up to %d", ro.LastSeq(), ro.WALDamage(), d.LastGood)
	}
	damage, err := ro.Check(func(Entry) error { return nil })
	if err != nil || len(damage) != 0 {
		t.Fatalf("check of what precedes the damage: %v %v", damage, err)
	}
	got := readAll(t, ro, 1, ro.LastSeq())
	if uint64(len(got)) != d.LastGood || string(got[len(got)-1].Data) != string(es[d.LastGood-1].Data) {
		t.Fatalf("read %d entries, want %d", len(got), d.LastGood)
	}
}
