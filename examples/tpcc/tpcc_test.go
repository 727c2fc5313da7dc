package tpcc_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/imagodb/imago/examples/tpcc"
	"github.com/imagodb/imago/examples/tpcc/workload"
	"github.com/imagodb/imago/server"
	"github.com/imagodb/imago/writer"
)

// serve starts the real server (HTTP and MySQL on loopback, durability
// always) with the tpcc app until the test ends.
func serve(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.Start(server.Config{
		App: tpcc.App(), Data: filepath.Join(t.TempDir(), "data"), Logger: slog.New(slog.DiscardHandler),
		HTTPAddr: "127.0.0.1:0", MySQLAddr: "127.0.0.1:0", MySQLUser: "root",
		Durability:      writer.Durability{Mode: writer.Always},
		CheckpointsKeep: 3, CheckpointShare: 1, IdempotencyWindow: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// TestConsistencyAfterARun loads a small population (2 warehouses, 1,000
// items, 30 customers per district), runs the mix from 8 terminals over
// HTTP and MySQL, and checks the specification's consistency conditions
// (clause 3.3.2: 1 to 10 and 12) over SQL, and that the image is the
// replay of the log.
func TestConsistencyAfterARun(t *testing.T) {
	s := serve(t)
	ctx := context.Background()
	c, err := workload.NewClient(s.HTTPAddr(), s.MySQLAddr(), 8)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	scale := workload.Scale{Warehouses: 2, Items: 1000, Customers: 30}
	consts := workload.NewConstants(rand.New(rand.NewPCG(1, 2)))
	if err := workload.Load(ctx, c, scale, 7, consts.CLoad, 4); err != nil {
		t.Fatal(err)
	}
	t.Run("after the load", func(t *testing.T) {
		if err := workload.Check(ctx, c.DB); err != nil {
			t.Fatal(err)
		}
	})
	res, err := workload.Run(ctx, c, workload.Config{Scale: scale, Constants: consts, Terminals: 8, Transactions: 50, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for tx, name := range workload.TxNames {
		if res.Count[tx] == 0 {
			t.Errorf("no %s ran: %v", name, res.Count)
		}
	}
	t.Logf("ran %v (%d New-Orders rolled back)", res.Count, res.Rollbacks)
	t.Run("after the run", func(t *testing.T) {
		if err := workload.Check(ctx, c.DB); err != nil {
			t.Fatal(err)
		}
	})
	if err := s.DB().VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}
