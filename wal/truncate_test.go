package wal

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestTruncate: a truncated prefix is gone for good, reads of it fail with
// a *TruncatedError instead of returning less, the rest of the log and
// appends go on, and FirstSeq and LastSeq survive a reopen, also for a log
// truncated up to its end.
func TestTruncate(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(entries(1, 100), true); err != nil {
		t.Fatal(err)
	}
	if err := l.Truncate(102); err == nil || !strings.Contains(err.Error(), "the log ends at 100") {
		t.Fatalf("truncate past the end: %v", err)
	}
	if err := l.Truncate(41); err != nil {
		t.Fatal(err)
	}
	if err := l.Truncate(10); err != nil { // before FirstSeq: nothing to do
		t.Fatal(err)
	}
	check := func(l *Log, first, last uint64) {
		t.Helper()
		if l.FirstSeq() != first || l.LastSeq() != last {
			t.Fatalf("first %d last %d, want %d %d", l.FirstSeq(), l.LastSeq(), first, last)
		}
		if got := readAll(t, l, first, last); uint64(len(got)) != last-first+1 || (len(got) > 0 && got[0].Seq != first) {
			t.Fatalf("read %d..%d: %d entries", first, last, len(got))
		}
		var te *TruncatedError
		err := l.Read(first-1, last, func(Entry) error { return nil })
		if !errors.As(err, &te) || te.From != first-1 || te.First != first {
			t.Fatalf("read from %d: %v, want a TruncatedError", first-1, err)
		}
		damage, err := l.Check(func(Entry) error { return nil })
		if err != nil || len(damage) != 0 {
			t.Fatalf("check: %v %v", damage, err)
		}
	}
	check(l, 41, 100)
	if err := l.Append(entries(101, 5), true); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	check(l, 41, 105)
	if err := l.Truncate(106); err != nil { // everything
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open(dir, Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	if l.FirstSeq() != 106 || l.LastSeq() != 105 || len(readAll(t, l, 106, 200)) != 0 {
		t.Fatalf("truncated to the end: first %d last %d", l.FirstSeq(), l.LastSeq())
	}
	if err := l.Truncate(106); err == nil {
		t.Fatal("a read-only log was truncated")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(entries(106, 1), true); err != nil { // the seqs go on
		t.Fatal(err)
	}
	if got := readAll(t, l, 106, 106); len(got) != 1 {
		t.Fatalf("append after a full truncation: %v", got)
	}
}

// TestIterTruncatedMeanwhile: an iterator opened before a Truncate
// reads a consistent view (Pebble's), and one opened after but asked for
// removed entries says so.
func TestIterTruncatedMeanwhile(t *testing.T) {
	l, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(entries(1, 50), true); err != nil {
		t.Fatal(err)
	}
	before, err := l.Iter(1, 50)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	if err := l.Truncate(30); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ok := before.Next(); ok; _, ok = before.Next() {
		n++
	}
	if before.Err() != nil || n != 50 {
		t.Fatalf("iterator opened before the truncation: %d entries, %v", n, before.Err())
	}
	var te *TruncatedError
	if _, err := l.Iter(29, 50); !errors.As(err, &te) {
		t.Fatalf("Iter(29, 50) after truncating before 30: %v", err)
	}
}

// TestTruncateFreesDisk: the tables holding a truncated prefix are dropped
// (Pebble does it in the background: the test waits for it, up to a bound).
func TestTruncateFreesDisk(t *testing.T) {
	l, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	data := make([]byte, 200)
	for i := range data {
		data[i] = byte(i * 7) // not all zeros: compression leaves a real size
	}
	for b := range 40 {
		es := make([]Entry, 5000)
		for i := range es {
			es[i] = Entry{Seq: uint64(b*5000 + i + 1), Data: data}
		}
		if err := l.Append(es, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	full := l.db.Metrics().Total().TablesSize
	if err := l.Truncate(l.LastSeq() - 100); err != nil {
		t.Fatal(err)
	}
	var now int64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if now = l.db.Metrics().Total().TablesSize; now < full/20 {
			return
		}
	}
	t.Fatalf("tables hold %d bytes after truncating all but 100 entries, %d before", now, full)
}
