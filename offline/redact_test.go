package offline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/internal/ondisk"
	"github.com/imagodb/imago/offline"
	"github.com/imagodb/imago/redaction"
)

// grepDir lists the files under dir holding s.
func grepDir(t *testing.T, dir, s string) []string {
	t.Helper()
	found, err := ondisk.Holding(dir, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestRedact: a customer's name and email are redacted from the log; replay
// still succeeds for every command that did, the old bytes are gone from
// every file of the data directory, and the redaction is recorded.
func TestRedact(t *testing.T) {
	dir := t.TempDir()
	db, err := imago.Open(dir, shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const secret = "grace.secret@example.org"
	const rareName = "Qx7Zr9Kp2Wv5Lm3T" // incompressible: greppable in Pebble's (snappy) tables too
	cmds := append(workload.Setup(10, 5),
		&shop.RegisterCustomer{CustomerID: "grace", Name: rareName, Email: secret, Country: "US"},
		&shop.PlaceOrder{OrderID: "g-1", CustomerID: "grace", Lines: []shop.OrderItem{{SKU: workload.SKU(1), Quantity: 1}}})
	for _, c := range cmds {
		if _, err := db.Submit(ctx, c); err != nil {
			t.Fatalf("%T: %v", c, err)
		}
	}
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	g := workload.New("r", 3, 10, 5)
	for range 200 {
		db.Submit(ctx, g.Next())
	}
	if _, err := db.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if found := grepDir(t, dir, rareName); !slices.ContainsFunc(found, func(p string) bool { return strings.HasSuffix(p, ".sst") }) {
		t.Fatalf("the name is not in a table of the log before the redaction (%v): the test proves nothing", found)
	}

	// Redacting the customer_id of grace's registration would refuse her
	// order: nothing is written.
	register := uint64(len(workload.Setup(10, 5)) + 1)
	_, err = offline.Redact(dir, shop.App(), offline.Redaction{Selection: redaction.Selection{Seqs: []uint64{register},
		Fields: []string{"customer_id"}}, Actor: "dpo", Reason: "test", Now: time.Now()})
	var refused *offline.RefusedRedactionError
	if !errors.As(err, &refused) || refused.Command != "register_customer" || refused.Seq != register || refused.Table != "customers" {
		t.Fatalf("redacting the key: %v", err)
	}
	t.Log(err)

	rec, err := offline.Redact(dir, shop.App(), offline.Redaction{Selection: redaction.Selection{WhereField: "customer_id", WhereValue: "grace",
		Fields: []string{"name", "email"}}, Actor: "dpo", Reason: "erasure request 2026-17", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Seqs) != 1 || len(rec.Rewritten) != 2 || rec.Epoch != 1 || rec.DerivedCells == 0 {
		t.Fatalf("record: %+v", rec)
	}
	if found := grepDir(t, dir, secret); len(found) > 0 {
		t.Fatalf("the redacted value is still on disk in %v", found)
	}
	if found := grepDir(t, dir, rareName); len(found) > 0 {
		t.Fatalf("the redacted name is still on disk in %v", found)
	}
	b, err := os.ReadFile(filepath.Join(dir, offline.RedactionsFile))
	if err != nil || !strings.Contains(string(b), `"reason":"erasure request 2026-17"`) || !strings.Contains(string(b), `"fields":["name","email"]`) {
		t.Fatalf("redactions: %s %v", b, err)
	}
	rep, err := offline.CheckLog(dir, shop.App())
	if err != nil || rep.ReplayErr != nil || len(rep.Undecodable) > 0 {
		t.Fatalf("log verify after the redaction: %+v %v", rep, err)
	}
	db, err = imago.Open(dir, shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r := db.Restored(); r.Seq == 0 {
		t.Fatalf("the rewritten checkpoint did not load: %+v", r)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	c, found, err := shop.Customers.Get(db.View().Snapshot, "grace")
	if mark := offline.RedactionMarker(register); err != nil || !found || c.Email != mark || c.Name != mark {
		t.Fatalf("grace after the redaction: %+v %v %v", c, found, err)
	}
	if o, found, _ := shop.Orders.Get(db.View().Snapshot, "g-1"); !found || o.CustomerID != "grace" {
		t.Fatalf("grace's order: %+v %v", o, found)
	}
}
