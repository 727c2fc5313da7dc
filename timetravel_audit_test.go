package imago_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
)

// TestAuditIndexBackfill: a log written without declared fields gets them
// indexed when a build declares them (the backfill); lookups by actor and
// by field name the entries a scan of the log finds, while the index
// catches up and after; an undeclared name is an error naming the
// declared ones.
func TestAuditIndexBackfill(t *testing.T) {
	dir := t.TempDir()
	plain := shop.App()
	plain.AuditFields = nil
	db := open(t, dir, plain)
	submitAll(t, db, workload.Setup(30, 10))
	g := workload.New("au", 2, 30, 10)
	for i := range 600 {
		db.SubmitMeta(context.Background(), g.Next(), commands.Meta{Actor: fmt.Sprintf("clerk-%d", i%5)})
	}
	db.Close()

	db = open(t, dir, shop.App())
	defer db.Close()
	end := db.DurableSeq()
	scan := func(name, value string) []uint64 {
		var seqs []uint64
		err := db.Envelopes().Read(1, end, func(env envelope.Envelope) error {
			v := env.Actor
			if name != imago.AuditActor {
				if !slices.Contains(db.AuditFieldsOf(env.Name), name) {
					return nil
				}
				vs, err := envelope.PayloadFields(env.Payload, []string{name})
				if err != nil {
					return err
				}
				v = vs[0]
			}
			if v == value {
				seqs = append(seqs, env.Seq)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return seqs
	}
	check := func() {
		t.Helper()
		for _, q := range [][2]string{{imago.AuditActor, "clerk-3"}, {"customer_id", workload.CustomerID(7)}, {"order_id", "o-au-12"}, {"sku", workload.SKU(3)}} {
			var got []uint64
			if err := db.AuditLookup(q[0], q[1], 1, end, func(seq uint64) error { got = append(got, seq); return nil }); err != nil {
				t.Fatal(err)
			}
			if want := scan(q[0], q[1]); !slices.Equal(got, want) || len(want) == 0 {
				t.Fatalf("%s = %s (index through %d): %v, want %v", q[0], q[1], db.AuditIndexedThrough(), got, want)
			}
		}
	}
	check()
	for deadline := time.Now().Add(10 * time.Second); db.AuditIndexedThrough() < end && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if db.AuditIndexedThrough() < end {
		t.Fatalf("backfill: through %d of %d", db.AuditIndexedThrough(), end)
	}
	check()
	if err := db.AuditLookup("email", "x", 1, end, func(uint64) error { return nil }); err == nil {
		t.Fatal("a lookup by an undeclared field: no error")
	}
}
