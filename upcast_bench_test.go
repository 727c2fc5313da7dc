package imago_test

import (
	"context"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/migrations"
	"github.com/imagodb/imago/wal"
)

// benchLogOrders is the number of orders in the replay benchmarks' log.
const benchLogOrders = 20_000

// benchLog is a data directory of the shop (v1) with the bench setup and
// benchLogOrders orders.
func benchLog(b *testing.B) string {
	dir := benchDir(b)
	{
		db, err := imago.Open(dir, shop.App(), imago.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		setup := workload.BenchSetup()
		db.SubmitAll(ctx, setup, make([]commands.Meta, len(setup)))
		for n := int64(0); n < benchLogOrders; n += 1000 {
			cmds := make([]commands.Command, 1000)
			for i := range cmds {
				cmds[i] = workload.BenchOrder(n + int64(i))
			}
			for _, o := range db.SubmitAll(ctx, cmds, make([]commands.Meta, len(cmds))) {
				if o.Err != nil {
					b.Fatal(o.Err)
				}
			}
		}
		db.Close()
	}
	return dir
}

// chainedShop is the shop with every command at version 3 and a chain
// v1 → v2 → v3 of upcasters that decode, change and re-encode every
// payload of a v1 log: an upcaster chain on every entry.
func chainedShop() *imago.App {
	app := shop.App()
	for i, d := range app.Commands {
		app.Commands[i].Version = 3
		app.Upcasters = append(app.Upcasters,
			migrations.Up(d.Name, 1, func(p map[string]any) error { p["v2_marker"] = true; return nil }),
			migrations.Up(d.Name, 2, func(p map[string]any) error { delete(p, "v2_marker"); return nil }))
	}
	return app
}

// bumpedShop is the shop with every command at version 3 and a chain
// v1 → v2 → v3 that changes versions only (no payload function): what a
// compatible change (a field added with its zero value) costs.
func bumpedShop() *imago.App {
	app := shop.App()
	for i, d := range app.Commands {
		app.Commands[i].Version = 3
		app.Upcasters = append(app.Upcasters, migrations.Up(d.Name, 1, nil), migrations.Up(d.Name, 2, nil))
	}
	return app
}

// BenchmarkReplayUpcast replays the same log of 20,101 commands without
// upcasters, with a two-step chain changing every entry's payload (chain2)
// and with a two-step chain of version bumps (bump2), whole replays and
// the decode step alone (read-*: every entry read, upcast and decoded into
// its command, as replay does before it applies; the target: at
// most 10% more). go test -run '^$' -bench ReplayUpcast -benchtime 5x .
func BenchmarkReplayUpcast(b *testing.B) {
	dir := benchLog(b)
	for _, bc := range []struct {
		name string
		app  *imago.App
	}{{"none", shop.App()}, {"chain2", chainedShop()}, {"bump2", bumpedShop()}} {
		b.Run(bc.name, func(b *testing.B) {
			log, err := wal.Open(imago.LogDir(dir), wal.Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			defer log.Close()
			registry, err := commands.NewRegistry(bc.app.Commands...)
			if err != nil {
				b.Fatal(err)
			}
			elog, err := bc.app.EnvelopeLog(log)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				image, err := bc.app.NewImage()
				if err != nil {
					b.Fatal(err)
				}
				_, st, err := applier.Replay{Image: image, Registry: registry, Log: elog, From: 1, To: log.LastSeq(),
					Strict: true, Logger: slog.New(slog.DiscardHandler)}.Run()
				if err != nil || st.Commands != log.LastSeq() {
					b.Fatalf("%+v %v", st, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(log.LastSeq()), "ns/command")
		})
		// The decode step alone, as replay takes it: read (and upcast)
		// every entry and decode its command (applier.Decode), apply
		// nothing.
		b.Run("read-"+bc.name, func(b *testing.B) {
			log, err := wal.Open(imago.LogDir(dir), wal.Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			defer log.Close()
			registry, err := commands.NewRegistry(bc.app.Commands...)
			if err != nil {
				b.Fatal(err)
			}
			elog, err := bc.app.EnvelopeLog(log)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			cpu := processCPU()
			for b.Loop() {
				n := uint64(0)
				err := elog.Read(1, log.LastSeq(), func(env envelope.Envelope) error {
					if e := applier.Decode(registry, env); e.Err != nil {
						return e.Err
					}
					n++
					return nil
				})
				if err != nil || n != log.LastSeq() {
					b.Fatal(n, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(log.LastSeq()), "ns/entry")
			// CPU time (the collector's included) says what the step costs
			// on a shared machine better than the wall clock.
			b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N)/float64(log.LastSeq()), "cpu-ns/entry")
		})
	}
}

// processCPU is the CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
