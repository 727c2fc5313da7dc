package imago_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/memdb"
)

// TestChangesApplyToTheStateBefore: the changes of a range, applied row by
// row to the state before it, give the state after it (hash compare), for
// ranges on a mixed shop workload with refusals and idempotency keys: from
// the empty image, across a checkpoint, within the ladder, one command.
func TestChangesApplyToTheStateBefore(t *testing.T) {
	dir := t.TempDir()
	db, err := imago.Open(dir, shop.App(), imago.Options{Now: stepClock()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	submitAll(t, db, workload.Setup(40, 25))
	g := workload.New("ch", 11, 40, 25)
	for i := range 900 {
		meta := commands.Meta{Actor: fmt.Sprintf("clerk-%d", i%3)}
		if i%10 == 0 {
			meta.ID = fmt.Sprintf("key-%d", i/20) // every other one repeats a key
		}
		db.SubmitMeta(context.Background(), g.Next(), meta) // refusals are part of the mix
		if i == 450 {
			if _, err := db.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	end := db.DurableSeq()
	for _, r := range [][2]uint64{{1, end}, {60, 61}, {300, 700}, {end - 40, end}, {end, end}} {
		t.Run(fmt.Sprintf("%d..%d", r[0], r[1]), func(t *testing.T) {
			before, err := db.ViewAt(context.Background(), r[0]-1)
			if err != nil {
				t.Fatal(err)
			}
			image, err := memdb.NewImage(before.Snapshot.Tables()...)
			if err != nil {
				t.Fatal(err)
			}
			image.Reset(before.Snapshot)
			last, rows := uint64(0), 0
			err = db.Changes(context.Background(), r[0], r[1], func(env envelope.Envelope, changes []memdb.Change) error {
				if env.Seq <= last || env.Seq < r[0] || env.Seq > r[1] {
					return fmt.Errorf("seq %d after %d, outside %d..%d", env.Seq, last, r[0], r[1])
				}
				last, rows = env.Seq, rows+len(changes)
				tx := image.Txn()
				for _, c := range changes {
					if err := applyChange(tx, c); err != nil {
						return fmt.Errorf("seq %d %s: %w", env.Seq, env.Name, err)
					}
				}
				return tx.Commit()
			})
			if err != nil {
				t.Fatal(err)
			}
			after, err := db.ViewAt(context.Background(), r[1])
			if err != nil {
				t.Fatal(err)
			}
			got, _ := image.Snapshot().Hash()
			want, _ := after.Snapshot.Hash()
			if got != want {
				t.Fatalf("state at %d plus the changes of %d..%d: hash %x, want the state at %d: %x", r[0]-1, r[0], r[1], got[:6], r[1], want[:6])
			}
			if r[1]-r[0] > 10 && rows == 0 {
				t.Fatal("no changes")
			}
		})
	}
	for _, r := range [][2]uint64{{0, 5}, {6, 5}, {1, end + 1}} {
		if err := db.Changes(context.Background(), r[0], r[1], func(envelope.Envelope, []memdb.Change) error { return nil }); err == nil {
			t.Fatalf("changes of %d..%d: no error", r[0], r[1])
		}
	}
}

// applyChange makes the row change c in tx.
func applyChange(tx *memdb.Txn, c memdb.Change) error {
	switch {
	case c.Before == nil:
		return tx.Insert(c.Table, c.After)
	case c.After == nil:
		return tx.Delete(c.Table, c.Key()...)
	default:
		return tx.Update(c.Table, c.After)
	}
}
