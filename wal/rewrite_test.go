package wal

import (
	"fmt"
	"testing"

	"github.com/imagodb/imago/internal/ondisk"
)

// TestRewriteDropsIndexes: a rewrite of entries drops the indexes over the
// log in the same batch (their pairs were computed from the old values),
// and after Purge no file of the log holds the old value, neither in an
// entry nor in an index key.
func TestRewriteDropsIndexes(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const secret = "ada.lovelace@example.org"
	var entries []Entry
	var pairs []IndexPair
	for seq := uint64(1); seq <= 100; seq++ {
		email := fmt.Sprintf("someone-%d@example.org", seq)
		if seq%10 == 0 {
			email = secret
		}
		entries = append(entries, Entry{Seq: seq, Data: []byte(`{"email":"` + email + `"}`)})
		pairs = append(pairs, IndexPair{Seq: seq, Name: "email", Value: email})
	}
	if err := l.Append(entries, true); err != nil {
		t.Fatal(err)
	}
	if err := l.IndexEntries("set", pairs, 100); err != nil {
		t.Fatal(err)
	}
	if err := l.db.Flush(); err != nil { // the old bytes in tables, not only in the WAL
		t.Fatal(err)
	}
	values := map[uint64][]byte{}
	for seq := uint64(10); seq <= 100; seq += 10 {
		values[seq] = []byte(`{"email":"[redacted]"}`)
	}
	if err := l.Rewrite(values); err != nil {
		t.Fatal(err)
	}
	if through, err := l.IndexedThrough("set"); err != nil || through != 0 {
		t.Errorf("after the rewrite the index covers seq %d (%v), want 0: it holds the old values", through, err)
	}
	var found []uint64
	if err := l.IndexLookup("email", "someone-1@example.org", 1, 100, func(seq uint64) error {
		found = append(found, seq)
		return nil
	}); err != nil || len(found) != 0 {
		t.Errorf("after the rewrite the index still answers %v (%v)", found, err)
	}
	files, err := ondisk.Holding(dir, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) > 0 {
		t.Errorf("after the rewrite and purge %v still hold %q", files, secret)
	}
}
