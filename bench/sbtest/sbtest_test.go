package sbtest_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/bench/sbtest"
	"github.com/imagodb/imago/writer"
)

func TestInsertRows(t *testing.T) {
	db, err := imago.Open(t.TempDir(), sbtest.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rows := sbtest.Generate(1, 1500, 1, 1500)
	if _, err := db.Submit(ctx, &sbtest.InsertRows{Rows: rows[:1000]}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Submit(ctx, &sbtest.InsertRows{Rows: rows[999:]}); err == nil {
		t.Fatal("a batch repeating id 1000 was accepted")
	}
	if _, err := db.Submit(ctx, &sbtest.InsertRows{Rows: rows}); err == nil {
		t.Fatal("a batch of 1500 rows was accepted")
	}
	if n := db.View().Snapshot.Count(sbtest.Table); n != 1000 {
		t.Fatalf("%d rows, want 1000", n)
	}
	if again := sbtest.Generate(1, 1500, 1, 1500); again[7] != rows[7] || len(rows[7].C) != 119 || len(rows[7].Pad) != 59 {
		t.Fatalf("rows are not reproducible or not sysbench-shaped: %+v", rows[7])
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkImageMemory reports the live heap per sbtest1 row held in the
// image (row values, primary key and k_1 index entries, go-memdb nodes).
func BenchmarkImageMemory(b *testing.B) {
	const size = 100_000
	for range b.N {
		db, err := imago.Open(b.TempDir(), sbtest.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}})
		if err != nil {
			b.Fatal(err)
		}
		before := liveHeap()
		for first := 1; first <= size; first += sbtest.MaxRows {
			if _, err := db.Submit(context.Background(), &sbtest.InsertRows{Rows: sbtest.Generate(1, size, first, sbtest.MaxRows)}); err != nil {
				b.Fatal(err)
			}
		}
		after := liveHeap()
		b.ReportMetric(float64(after-before)/size, "bytes/row")
		runtime.KeepAlive(db.View())
		db.Close()
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
