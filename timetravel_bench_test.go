package imago_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/writer"
)

// BenchmarkAsOfCold is the latency of building a past state that no cache
// holds, against its distance from the nearest checkpoint (written after
// 20,000 orders of three lines): the checkpoint's load plus the replay of
// the distance. commands/s is the distance over the time.
//
//	go test -run '^$' -bench AsOfCold -benchtime 3x .
func BenchmarkAsOfCold(b *testing.B) {
	dir := b.TempDir()
	opts := imago.Options{AsOfCacheBytes: 1, Durability: writer.Durability{Mode: writer.None}, Logger: slog.New(slog.DiscardHandler)}
	db, err := imago.Open(dir, shop.App(), opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	submit := func(from, to int64) {
		for n := from; n < to; n += 1000 {
			var cmds []commands.Command
			for i := n; i < min(n+1000, to); i++ {
				cmds = append(cmds, workload.BenchOrder(i))
			}
			for _, o := range db.SubmitAll(ctx, cmds, make([]commands.Meta, len(cmds))) {
				if o.Err != nil {
					b.Fatal(o.Err)
				}
			}
		}
	}
	for _, c := range workload.BenchSetup() {
		if _, err := db.Submit(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	submit(0, 20_000)
	ckpt, err := db.Checkpoint()
	if err != nil {
		b.Fatal(err)
	}
	submit(20_000, 70_000)
	db.Close()
	if db, err = imago.Open(dir, shop.App(), opts); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, d := range []uint64{49_800, 10_000, 1_000, 0} {
		b.Run(fmt.Sprintf("distance=%d", d), func(b *testing.B) {
			// Descending seqs: the one state cached (AsOfCacheBytes 1) is
			// after the next, so each is built from the checkpoint.
			var replayed, i uint64
			for b.Loop() {
				seq := ckpt.Seq + d + 100 - i%100
				i++
				v, err := db.ViewAt(ctx, seq)
				if err != nil || v.Seq != seq {
					b.Fatal(err)
				}
				if st := db.AsOfStats().LastBuild; st.BaseSeq != ckpt.Seq {
					b.Fatalf("built from %s at %d", st.Base, st.BaseSeq)
				}
				replayed += seq - ckpt.Seq
			}
			b.ReportMetric(float64(replayed)/b.Elapsed().Seconds(), "commands/s")
			b.ReportMetric(float64(db.AsOfStats().CacheBytes)/1e6, "MB/state")
		})
	}
}

// BenchmarkChanges is imago.changes' cost: the replay of a range of the
// shop's mixed workload one command per transaction, recording each
// command's rows (the state before the range cached, as it is after a
// first query). sql.DefaultMaxChangesCommands is sized by it.
//
//	go test -run '^$' -bench Changes -benchtime 5x .
func BenchmarkChanges(b *testing.B) {
	opts := imago.Options{Durability: writer.Durability{Mode: writer.None}, Logger: slog.New(slog.DiscardHandler)}
	db, err := imago.Open(b.TempDir(), shop.App(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, c := range workload.Setup(1000, 200) {
		if _, err := db.Submit(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	g := workload.New("bench", 1, 1000, 200)
	for range 30_000 {
		db.Submit(ctx, g.Next())
	}
	to := db.DurableSeq()
	from := to - 10_000 + 1
	if _, err := db.ViewAt(ctx, from-1); err != nil {
		b.Fatal(err)
	}
	var rows int
	for b.Loop() {
		err := db.Changes(ctx, from, to, func(_ envelope.Envelope, changes []memdb.Change) error {
			rows += len(changes)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(uint64(b.N)*(to-from+1))/b.Elapsed().Seconds(), "commands/s")
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
