package wal

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	pwal "github.com/cockroachdb/pebble/v2/wal"
)

// walRecords reads dir's last Pebble WAL with Pebble's own reader and
// returns the batch seqnum of each record (LogData-only ones skipped), and
// the file's bytes.
func walRecords(t *testing.T, dir string) ([]uint64, []byte) {
	t.Helper()
	logs, err := pwal.Scan(pwal.Dir{FS: vfs.Default, Dirname: dir})
	if err != nil || len(logs) == 0 {
		t.Fatalf("no WAL in %s: %v", dir, err)
	}
	ll := logs[len(logs)-1]
	_, path := ll.SegmentLocation(0)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	r := ll.OpenForRead()
	defer r.Close()
	for {
		rr, _, err := r.NextRecord()
		if err != nil {
			break // the end, or the EOF trailer / zeros of a recycled file
		}
		rec, err := io.ReadAll(rr)
		if err != nil {
			break
		}
		if len(rec) >= 12 && binary.LittleEndian.Uint32(rec[8:]) > 0 {
			seqs = append(seqs, binary.LittleEndian.Uint64(rec))
		}
	}
	return seqs, b
}

// TestChunkParser: the parser finds, in a real WAL file fed in pieces of any
// size, the records Pebble's reader finds, in order, with their seqnums.
func TestChunkParser(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SyncInterval: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	es := randomEntries(3000)
	for i := 0; i < len(es); {
		n := 1 + i%37
		if i+n > len(es) {
			n = len(es) - i
		}
		if i%5 == 0 { // large records: chunks spanning blocks
			big := make([]Entry, n)
			for j := range big {
				big[j] = Entry{Seq: es[i+j].Seq, Data: bytes.Repeat(es[i+j].Data, 20)}
			}
			if err := l.Append(big, false); err != nil {
				t.Fatal(err)
			}
		} else if err := l.Append(es[i:i+n], i%7 == 0); err != nil {
			t.Fatal(err)
		}
		i += n
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	seqs, data := walRecords(t, dir)
	l.Close()
	if len(seqs) < 10 {
		t.Fatalf("the WAL holds %d records", len(seqs))
	}
	for _, piece := range []int{1, 7, 19, 100, 4096, 32 << 10, 1 << 20, 0} {
		var p chunkParser
		var got []uint64
		rng := rand.New(rand.NewPCG(uint64(piece), 3))
		for rest := data; len(rest) > 0; {
			n := piece
			if n == 0 {
				n = 1 + rng.IntN(3000)
			}
			n = min(n, len(rest))
			p.feedEach(rest[:n], func(seq uint64) { got = append(got, seq) })
			rest = rest[n:]
		}
		if p.lost {
			t.Fatalf("pieces of %d: lost: %v", piece, p.errNote)
		}
		// The parser reports LogData-only records too (Sync's, the last one
		// here), which repeat the next batch's seqnum; the reader skips them.
		got = slices.Compact(got)
		if len(got) == len(seqs)+1 {
			got = got[:len(seqs)]
		}
		if !slices.Equal(got, seqs) {
			t.Fatalf("pieces of %d: %d records %v, the reader found %d %v", piece, len(got), got, len(seqs), seqs)
		}
	}
}

// FuzzChunkParser: any bytes, in any pieces, never panic the parser, and
// pieces give what the whole gives.
func FuzzChunkParser(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 5, 0, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5}, uint8(3))
	f.Add(make([]byte, 40000), uint8(100))
	f.Fuzz(func(t *testing.T, b []byte, piece uint8) {
		var whole, pieces chunkParser
		var a, c []uint64
		whole.feedEach(b, func(s uint64) { a = append(a, s) })
		n := int(piece) + 1
		for rest := b; len(rest) > 0; rest = rest[min(n, len(rest)):] {
			pieces.feedEach(rest[:min(n, len(rest))], func(s uint64) { c = append(c, s) })
		}
		if len(a) != len(c) || whole.lost != pieces.lost {
			t.Fatalf("whole: %v (lost %v); pieces of %d: %v (lost %v)", a, whole.lost, n, c, pieces.lost)
		}
	})
}
