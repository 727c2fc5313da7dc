package memdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"testing"

	gomemdb "github.com/hashicorp/go-memdb"
	"github.com/tidwall/btree"
)

// BenchmarkTreeLoad measures what building one index of n rows costs, the
// heart of a checkpoint restore: the image's go-memdb tree as Load builds
// it, and, for comparison, a copy-on-write B-tree (tidwall/btree, O(1)
// snapshots by Copy) loaded in key order: the figures behind the question
// of which tree the image should use (see the README's Restart section).
// Reports ns (two forced collections per op included, alike for both) and
// heap bytes per entry (the entries and rows themselves excluded).
func BenchmarkTreeLoad(b *testing.B) {
	const n = 1 << 20
	entries := make([]*entry, n)
	row := Row{"x"}
	for i := range entries {
		entries[i] = &entry{key: binary.BigEndian.AppendUint64([]byte("order-"), uint64(i)*7919), row: row}
	}
	slices.SortFunc(entries, func(a, b *entry) int { return bytes.Compare(a.key, b.key) })
	build := map[string]func() any{
		"go-memdb": func() any {
			db, _ := gomemdb.NewMemDB(treeSchema)
			db = db.Snapshot()
			tx := db.Txn(true)
			if err := writeEntries(tx, slices.Values(entries)); err != nil {
				b.Fatal(err)
			}
			tx.Commit()
			return db
		},
		"tidwall-btree": func() any {
			t := btree.NewBTreeGOptions(lessKey, btree.Options{NoLocks: true})
			for _, e := range entries {
				t.Load(e)
			}
			return t.Copy()
		},
	}
	for _, name := range []string{"go-memdb", "tidwall-btree"} {
		b.Run(fmt.Sprintf("%s/entries=%d", name, n), func(b *testing.B) {
			var before, after runtime.MemStats
			var keep any
			for b.Loop() {
				runtime.GC()
				runtime.ReadMemStats(&before)
				keep = build[name]()
				runtime.GC()
				runtime.ReadMemStats(&after)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/entry")
			runtime.KeepAlive(keep)
		})
	}
}
