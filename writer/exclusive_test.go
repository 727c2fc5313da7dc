package writer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/wal"
	"github.com/imagodb/imago/writer"
)

// TestExclusive: work run with Exclusive sees the seq of the last logged
// command and no batch is applied or logged while it runs, however many
// submitters wait; what it leaves in the image is published, and what it
// leaves when it fails is dropped.
func TestExclusive(t *testing.T) {
	log, err := wal.Open(t.TempDir(), wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	app := shop.App()
	image, err := app.NewImage()
	if err != nil {
		t.Fatal(err)
	}
	registry, err := commands.NewRegistry(app.Commands...)
	if err != nil {
		t.Fatal(err)
	}
	w, err := writer.Start(writer.Config{Image: image, Log: log, Registry: registry, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	for _, c := range workload.Setup(10, 10) {
		if _, err := w.Submit(ctx, c, commands.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			g := workload.New(fmt.Sprint("x", i), uint64(i), 10, 10)
			for {
				select {
				case <-stop:
					return
				default:
				}
				w.Submit(ctx, g.Next(), commands.Meta{})
			}
		})
	}
	marker := &shop.RegisterCustomer{CustomerID: "excl", Name: "E", Email: "e@x.org", Country: "DE"}
	for i := range 20 {
		fail := i%2 == 1
		err := w.Exclusive(ctx, func(im *memdb.Image, seq uint64) error {
			if seq != log.LastSeq() {
				return fmt.Errorf("given seq %d, the log ends at %d", seq, log.LastSeq())
			}
			time.Sleep(2 * time.Millisecond)
			if log.LastSeq() != seq {
				return fmt.Errorf("a batch was logged during the exclusive work: %d -> %d", seq, log.LastSeq())
			}
			tx := im.Txn()
			customer := *marker
			customer.CustomerID, customer.Email = fmt.Sprint("excl-", i), fmt.Sprint("e", i, "@x.org")
			if _, err := customer.Apply(tx, &commands.Envelope{Time: time.Now().UTC()}); err != nil {
				return err
			}
			if err := tx.Commit(); err != nil {
				return err
			}
			if fail {
				return errors.New("fails on purpose")
			}
			return nil
		})
		if fail != (err != nil) || (err != nil && err.Error() != "fails on purpose") {
			t.Fatalf("exclusive %d: %v", i, err)
		}
		_, found, _ := shop.Customers.Get(w.View().Snapshot, fmt.Sprint("excl-", i))
		if found == fail {
			t.Fatalf("exclusive %d (failing %v): its change published: %v", i, fail, found)
		}
	}
	close(stop)
	wg.Wait()
}
