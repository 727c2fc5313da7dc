package imago_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/internal/ondisk"
	"github.com/imagodb/imago/redaction"
)

// filesHolding lists the files under dir holding s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	found, err := ondisk.Holding(dir, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// checkpointsHolding counts the checkpoints of dir whose customer id
// has the name (a checkpoint is compressed: it is read back, not grepped).
func checkpointsHolding(t *testing.T, dir, id, name string) int {
	t.Helper()
	files, err := checkpoint.List(imago.CheckpointDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		image, err := shop.App().NewImage()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := checkpoint.Load(f.Path, image, shop.App().Fingerprint(), nil); err != nil {
			t.Fatal(err)
		}
		if c, _, _ := shop.Customers.Get(image.Snapshot(), id); c.Name == name {
			n++
		}
	}
	return n
}

// secretCustomer registers a customer whose name and email are
// incompressible (greppable in Pebble's compressed tables too), and an
// order of hers.
func secretCustomer(id, name, email string) []commands.Command {
	return []commands.Command{
		&shop.RegisterCustomer{CustomerID: id, Name: name, Email: email, Country: "US"},
		&shop.PlaceOrder{OrderID: id + "-1", CustomerID: id, Lines: []shop.OrderItem{{SKU: workload.SKU(1), Quantity: 1}}},
	}
}

// TestRedactOnline: a customer's name and email are redacted from a
// running primary while writers go on. The proof refuses a redaction that
// would change more first, writing nothing; then the redaction rewrites the
// log, the checkpoints and the live image: the image equals a replay of
// the redacted log, no file of the data directory holds the values (the
// log's tables and WAL files, the checkpoints), past states show the
// marker, and the record says who and why, never the values.
func TestRedactOnline(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, shop.App())
	defer db.Close()
	ctx := context.Background()
	const name, email = "Zq4Xw8Rt6Yp2Nm7K", "zq4xw8rt6yp2@example.org"
	submitAll(t, db, workload.Setup(50, 30))
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	register := db.View().Seq + 1
	submitAll(t, db, secretCustomer("grace", name, email))
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	loadShop(t, db, 2, 200, nil)
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if found := filesHolding(t, dir, name); !slices.ContainsFunc(found, func(p string) bool { return strings.HasSuffix(p, ".log") }) {
		t.Fatalf("the name is in no WAL file of the log before the redaction (%v): the test proves nothing", found)
	}
	if n := checkpointsHolding(t, dir, "grace", name); n != 2 {
		t.Fatalf("%d checkpoints hold the name before the redaction, want 2", n)
	}
	// Redacting grace's id would refuse her order: refused, nothing written.
	seqBefore := db.View().Seq
	_, err := db.Redact(ctx, imago.Redaction{Selection: redaction.Selection{Seqs: []uint64{register}, Fields: []string{"customer_id"}}, Actor: "dpo", Reason: "test"})
	var refused *redaction.RefusedError
	if !errors.As(err, &refused) || refused.Seq != register {
		t.Fatalf("redacting the key: %v", err)
	}
	if recs, _ := db.Redactions(); len(recs) != 0 || db.View().Seq != seqBefore {
		t.Fatalf("a refused redaction left %v, seq %d", recs, db.View().Seq)
	}

	var rec *imago.RedactionRecord
	loadShop(t, db, 2, 300, func() {
		rec, err = db.Redact(ctx, imago.Redaction{Selection: redaction.Selection{WhereField: "customer_id", WhereValue: "grace",
			Fields: []string{"name", "email"}}, Actor: "dpo", Reason: "erasure request 17"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Seqs) != 1 || rec.Seqs[0] != register || rec.Epoch != 1 || db.RedactionEpoch() != 1 || len(rec.Rewritten) != 2 {
		t.Fatalf("record: %+v", rec)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{name, email} {
		if found := filesHolding(t, dir, s); len(found) > 0 {
			t.Fatalf("%q is still on disk, in %v", s, found)
		}
	}
	if n := checkpointsHolding(t, dir, "grace", name); n != 0 {
		t.Fatalf("%d checkpoints (compressed: read back) still hold the name", n)
	}
	c, found, err := shop.Customers.Get(db.View().Snapshot, "grace")
	if mark := redaction.Marker(register); err != nil || !found || c.Name != mark || c.Email != mark {
		t.Fatalf("grace: %+v %v %v", c, found, err)
	}
	past, err := db.ViewAt(ctx, register)
	if err != nil {
		t.Fatal(err)
	}
	if c, _, _ := shop.Customers.Get(past.Snapshot, "grace"); c.Name != redaction.Marker(register) {
		t.Fatalf("grace as of seq %d: %+v", register, c)
	}
	b, err := os.ReadFile(filepath.Join(dir, imago.RedactionsFile))
	if err != nil || !strings.Contains(string(b), `"reason":"erasure request 17"`) || strings.Contains(string(b), "grace") {
		t.Fatalf("redactions file: %s %v", b, err)
	}

	// A restart loads a rewritten checkpoint and agrees with the log.
	db.Close()
	db = open(t, dir, shop.App())
	if db.Restored().Seq == 0 || db.RedactionEpoch() != 1 {
		t.Fatalf("after the restart: %+v, epoch %d", db.Restored(), db.RedactionEpoch())
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}
