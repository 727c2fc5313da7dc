package writer_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
)

// TestTimesNeverDecrease: envelope times never decrease with seq, whatever
// the clock did at accept (here a clock that goes back at every other
// reading, read by concurrent submitters), also across a restart; a raised
// keyed command's key expires a window after its logged time; the image
// still equals the replay of the log.
func TestTimesNeverDecrease(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var n atomic.Int64
	clock := func() time.Time { // 1, 0, 3, 2, 5, 4, ... ms
		i := n.Add(1)
		return base.Add(time.Duration(i+1-2*(i%2)) * time.Millisecond)
	}
	opts := imago.Options{Now: clock, IdempotencyWindow: time.Hour}
	for round := range 2 {
		db, err := imago.Open(dir, shop.App(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			submitAll(t, db, workload.Setup(5, 5))
		} else {
			n.Store(0) // the clock went back across the restart
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 50 {
					cmd := &shop.Restock{SKU: workload.SKU(i % 5), Quantity: 1}
					db.SubmitMeta(context.Background(), cmd, commands.Meta{ID: fmt.Sprintf("r%d-w%d-%d", round, w, i)})
				}
			})
		}
		wg.Wait()
		var last time.Time
		err = db.Envelopes().Read(1, db.DurableSeq(), func(env envelope.Envelope) error {
			if env.Time.Before(last) {
				return fmt.Errorf("seq %d at %s, before its predecessor's %s", env.Seq, env.Time, last)
			}
			if !env.KeyExpires.IsZero() && !env.KeyExpires.Equal(env.Time.Add(time.Hour)) {
				return fmt.Errorf("seq %d at %s: key expires %s", env.Seq, env.Time, env.KeyExpires)
			}
			last = env.Time
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.VerifyReplay(); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}
