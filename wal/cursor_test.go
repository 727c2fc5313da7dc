package wal

import (
	"strings"
	"testing"
)

// TestCursors: a cursor is absent until set, keeps its last value over a
// reopen, lives beside the entries without being one of them, and a
// malformed one is an error naming it.
func TestCursors(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := l.Cursor("reactor/a"); found || err != nil {
		t.Fatalf("an unset cursor: found %v, %v", found, err)
	}
	if err := l.Append(entries(1, 3), true); err != nil {
		t.Fatal(err)
	}
	for name, seq := range map[string]uint64{"reactor/a": 2, "reactor/b": 3} {
		if err := l.SetCursor(name, seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.SetCursor("reactor/a", 3); err != nil {
		t.Fatal(err)
	}
	l.Close()

	if l, err = Open(dir, Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint64{"reactor/a": 3, "reactor/b": 3} {
		if seq, found, err := l.Cursor(name); !found || err != nil || seq != want {
			t.Errorf("%s after reopen: %d %v %v, want %d", name, seq, found, err, want)
		}
	}
	if l.LastSeq() != 3 || len(readAll(t, l, 1, 10)) != 3 {
		t.Fatalf("the cursors changed the entries: last seq %d", l.LastSeq())
	}
	if err := l.SetCursor("reactor/a", 1); err == nil {
		t.Fatal("SetCursor on a read-only log succeeded")
	}
	l.Close()

	l, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.db.Set(cursorKey("bad"), []byte{1, 2}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Cursor("bad"); err == nil || !strings.Contains(err.Error(), `cursor "bad" is malformed`) {
		t.Fatalf("a malformed cursor: %v, want an error naming it", err)
	}
}
