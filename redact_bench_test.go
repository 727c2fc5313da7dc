package imago_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/redaction"
	"github.com/imagodb/imago/writer"
)

// redactBenchCustomers is the number of customers the redaction
// benchmark's orders are spread over.
const redactBenchCustomers = 1000

// BenchmarkRedact redacts one customer's name and email from a running
// primary whose shop log holds IMAGO_BENCH_REDACT_COMMANDS commands
// (default 1,000,000: orders of 1,000 customers, round robin, and a
// checkpoint at the end), and reports the redaction's time and the bytes it
// rewrote (the log's flushes and compactions, and the checkpoints written
// again) against the peer figure of the same run: a replay of the whole
// log into an empty image, what a start without a checkpoint costs. The
// proof replays the log twice, 1,024 commands per image transaction, from
// the last checkpoint before the customer's first entry. make bench-redact
func BenchmarkRedact(b *testing.B) {
	n := int64(1_000_000)
	if v := os.Getenv("IMAGO_BENCH_REDACT_COMMANDS"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			b.Fatal(err)
		}
	}
	dir := benchDir(b)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	db, err := imago.Open(dir, shop.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	setup := workload.BenchSetup()
	for c := range redactBenchCustomers {
		setup = append(setup, &shop.RegisterCustomer{CustomerID: fmt.Sprint("c-", c), Name: fmt.Sprint("Customer ", c), Email: fmt.Sprintf("c%d@example.org", c), Country: "DE"})
	}
	submitBatch(b, db, setup)
	start := time.Now()
	for i := int64(len(setup)); i < n; i += 1000 {
		cmds := make([]commands.Command, min(1000, n-i))
		for j := range cmds {
			o := workload.BenchOrder(i + int64(j))
			o.CustomerID = fmt.Sprint("c-", (i+int64(j))%redactBenchCustomers)
			cmds[j] = o
		}
		submitBatch(b, db, cmds)
	}
	b.Logf("built a log of %d commands in %v", db.View().Seq, time.Since(start).Round(time.Millisecond))
	ckpt, err := db.Checkpoint()
	if err != nil {
		b.Fatal(err)
	}
	// The peer: a replay of the whole log into an empty image.
	image, err := shop.App().NewImage()
	if err != nil {
		b.Fatal(err)
	}
	_, st, err := applier.Replay{Image: image, Registry: db.Registry(), Log: db.Envelopes(), From: 1, To: db.View().Seq, Logger: quiet}.Run()
	if err != nil {
		b.Fatal(err)
	}
	logBytes := db.Log().DiskBytes()
	compacted := db.Log().CompactedBytes()
	var rec *imago.RedactionRecord
	for b.Loop() {
		rec, err = db.Redact(ctx, imago.Redaction{Selection: redaction.Selection{WhereField: "customer_id", WhereValue: "c-17",
			Fields: []string{"name", "email"}}, Actor: "bench", Reason: "benchmark"})
		if err != nil {
			b.Fatal(err)
		}
	}
	took := b.Elapsed() / time.Duration(b.N)
	rewrote := db.Log().CompactedBytes() - compacted
	for _, name := range rec.Rewritten {
		if fi, err := os.Stat(imago.CheckpointDir(dir) + "/" + name); err == nil {
			rewrote += uint64(fi.Size())
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(took.Seconds(), "s/redaction")
	b.ReportMetric(float64(rewrote), "bytes-rewritten")
	b.ReportMetric(st.Duration.Seconds(), "s/peer-replay")
	fmt.Printf("redaction of customer c-17 (%d entries rewritten) in a log of %d commands (%d MB on disk, checkpoint %d MB): %.2f s, %.1f MB rewritten; whole-log replay (peer, same run) %.2f s; ratio %.2f\n",
		len(rec.Seqs), st.Commands, logBytes>>20, ckpt.Bytes>>20, took.Seconds(), float64(rewrote)/1e6, st.Duration.Seconds(), took.Seconds()/st.Duration.Seconds())
}

func submitBatch(b *testing.B, db *imago.DB, cmds []commands.Command) {
	for _, o := range db.SubmitAll(context.Background(), cmds, make([]commands.Meta, len(cmds))) {
		if o.Err != nil {
			b.Fatal(o.Err)
		}
	}
}
