package wal

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func entries(from, n int) []Entry {
	es := make([]Entry, n)
	for i := range es {
		seq := uint64(from + i)
		es[i] = Entry{Seq: seq, Data: []byte(fmt.Sprintf("entry %d", seq))}
	}
	return es
}

func readAll(t *testing.T, l *Log, from, to uint64) []Entry {
	t.Helper()
	var got []Entry
	if err := l.Read(from, to, func(e Entry) error {
		got = append(got, Entry{Seq: e.Seq, Data: append([]byte(nil), e.Data...)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l.LastSeq() != 0 {
		t.Fatalf("empty log: last seq %d", l.LastSeq())
	}
	if err := l.Append(entries(1, 100), true); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(entries(101, 5), false); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.LastSeq() != 105 {
		t.Fatalf("after reopen: last seq %d, want 105", l.LastSeq())
	}
	if damage, err := l.CheckTables(); len(damage) != 0 || err != nil {
		t.Fatalf("CheckTables of a whole log: %v %v", damage, err)
	}
	for _, c := range []struct{ from, to, first, n uint64 }{
		{1, 105, 1, 105}, {0, 3, 1, 3}, {50, 60, 50, 11}, {100, 1000, 100, 6}, {106, 200, 0, 0}, {10, 9, 0, 0},
	} {
		got := readAll(t, l, c.from, c.to)
		if uint64(len(got)) != c.n || (c.n > 0 && (got[0].Seq != c.first || string(got[0].Data) != fmt.Sprintf("entry %d", c.first))) {
			t.Errorf("Read(%d, %d): %d entries starting %v, want %d from %d", c.from, c.to, len(got), got, c.n, c.first)
		}
	}
}

func TestAppendRefusesGaps(t *testing.T) {
	l, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, c := range []struct {
		es   []Entry
		want string
	}{
		{entries(2, 1), "entry 0 has seq 2, want 1"},
		{[]Entry{{Seq: 1}, {Seq: 3}}, "entry 1 has seq 3, want 2"},
	} {
		if err := l.Append(c.es, true); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	if l.LastSeq() != 0 || len(readAll(t, l, 1, 10)) != 0 {
		t.Fatal("a refused batch was partly written")
	}
}

// BenchmarkAppendSync is one synced Pebble commit of one 200-byte entry: the
// log's share of a durable command's latency.
func BenchmarkAppendSync(b *testing.B) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	data := make([]byte, 200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.Append([]Entry{{Seq: uint64(i + 1), Data: data}}, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend is one Append of a batch of entries of 200 bytes, with and
// without sync: the log's share of a command's cost in durability modes
// always and interval (the batch size is the writer's group of commands).
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		name  string
		batch int
		sync  bool
		o     Options
	}{
		{"nosync/batch=1", 1, false, Options{SyncInterval: time.Second}},
		{"nosync/batch=16", 16, false, Options{SyncInterval: time.Second}},
		{"sync/batch=1", 1, true, Options{}},
		{"sync/batch=16", 16, true, Options{}},
	} {
		b.Run(c.name, func(b *testing.B) {
			l, err := Open(b.TempDir(), c.o)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			data := make([]byte, 200)
			es := make([]Entry, c.batch)
			b.SetBytes(int64(c.batch * len(data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range es {
					es[j] = Entry{Seq: uint64(i*c.batch + j + 1), Data: data}
				}
				if err := l.Append(es, c.sync); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStartAt: an empty log can begin after seq 1 (a replica's, after its
// primary's checkpoint); it then continues there, and keeps it on reopen.
func TestStartAt(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.StartAt(101); err != nil || l.FirstSeq() != 101 || l.LastSeq() != 100 {
		t.Fatalf("StartAt: %v, first %d last %d", err, l.FirstSeq(), l.LastSeq())
	}
	if err := l.Append([]Entry{{Seq: 1, Data: []byte("x")}}, true); err == nil {
		t.Fatal("appended seq 1 to a log that starts at 101")
	}
	if err := l.Append([]Entry{{Seq: 101, Data: []byte("x")}}, true); err != nil {
		t.Fatal(err)
	}
	if err := l.StartAt(500); err == nil {
		t.Fatal("StartAt on a log with entries")
	}
	l.Close()
	l, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.FirstSeq() != 101 || l.LastSeq() != 101 {
		t.Fatalf("reopened: first %d last %d, want 101 101", l.FirstSeq(), l.LastSeq())
	}
}
