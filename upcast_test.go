package imago_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/migrations"
	"github.com/imagodb/imago/offline"
)

// oldRestock is restock v1 of an older shop: the quantity was "qty".
type oldRestock struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

func (*oldRestock) Validate() error { return nil }
func (c *oldRestock) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	return (&shop.Restock{SKU: c.SKU, Quantity: c.Qty}).Apply(tx, env)
}

// oldReplenish is replenish v1, restock under another name.
type oldReplenish struct{ oldRestock }

// stockCheck is a command the new shop retired: it changed nothing.
type stockCheck struct {
	SKU string `json:"sku"`
}

func (*stockCheck) Validate() error                                   { return nil }
func (*stockCheck) Apply(*memdb.Txn, *commands.Envelope) (any, error) { return nil, nil }

// oldShop logs restock v1 {sku, qty}, replenish (the same, under another
// name) and stock_check.
func oldShop() *imago.App {
	app := shop.App()
	app.Commands = slices.DeleteFunc(slices.Clone(app.Commands), func(d commands.Definition) bool { return d.Name == "restock" })
	app.Commands = append(app.Commands, commands.Define[oldRestock]("restock", 1), commands.Define[oldReplenish]("replenish", 1),
		commands.Define[stockCheck]("stock_check", 1))
	return app
}

// newShop is the shop with restock v2 {sku, quantity} and the upcasters
// that read the old shop's log.
func newShop() *imago.App {
	app := shop.App()
	for i, d := range app.Commands {
		if d.Name == "restock" {
			app.Commands[i] = commands.Define[shop.Restock]("restock", 2)
		}
	}
	app.Upcasters = []migrations.Upcaster{
		migrations.Up("restock", 1, func(p map[string]any) error {
			p["quantity"] = p["qty"]
			delete(p, "qty")
			return nil
		}),
		migrations.Rename("replenish", 1, "restock"),
		migrations.Retire("stock_check", 0, "stock checks moved to a reactor"),
	}
	return app
}

func stock(t *testing.T, db *imago.DB, sku string) int64 {
	t.Helper()
	p, found, err := shop.Products.Get(db.View().Snapshot, sku)
	if err != nil || !found {
		t.Fatalf("product %s: %v %v", sku, found, err)
	}
	return p.Stock
}

// TestUpcastersEverywhere: a log of the old shop opens with the new shop;
// every reader sees the upcast form (recovery, VerifyReplay, the offline
// tools), stored forms stay visible, and a retired tail keeps the seqs.
func TestUpcastersEverywhere(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, oldShop())
	submitAll(t, db, workload.Setup(2, 2))
	sku := workload.SKU(0)
	before := stock(t, db, sku)
	submitAll(t, db, []commands.Command{&oldRestock{SKU: sku, Qty: 5}, &oldReplenish{oldRestock{SKU: sku, Qty: 7}}, &stockCheck{SKU: sku}})
	last := db.View().Seq
	db.Close()

	if shop.App().Fingerprint() == newShop().Fingerprint() {
		t.Error("upcasters do not change the fingerprint")
	}
	db = open(t, dir, newShop())
	if got := stock(t, db, sku); got != before+12 {
		t.Fatalf("stock after upcast replay: %d, want %d", got, before+12)
	}
	if r := db.Recovery(); r.LastSeq != last || r.Retired != 1 {
		t.Fatalf("recovery: %+v, want last seq %d and 1 retired", r, last)
	}
	res, err := db.Submit(context.Background(), &shop.Restock{SKU: sku, Quantity: 1})
	if err != nil || res.Seq != last+1 {
		t.Fatalf("submit after a retired tail: %+v %v", res, err)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	var upcast int
	err = db.Envelopes().Read(1, db.View().Seq, func(env envelope.Envelope) error {
		if env.Name == "stock_check" {
			t.Errorf("seq %d: a retired command was read", env.Seq)
		}
		if env.Stored != nil {
			upcast++
			if env.Name != "restock" || env.Version != 2 || env.Stored.Version != 1 || (env.Seq == last-1) != (env.Stored.Name == "replenish") {
				t.Errorf("seq %d: %s v%d from %+v", env.Seq, env.Name, env.Version, env.Stored)
			}
		}
		return nil
	})
	if err != nil || upcast != 2 {
		t.Fatalf("upcast entries: %d %v", upcast, err)
	}
	db.Close()

	var lines []string
	err = offline.DumpUpcast(dir, newShop(), 0, 0, []string{"restock", "stock_check"}, true, func(env envelope.Envelope) error {
		b, err := env.MarshalJSON()
		lines = append(lines, string(b))
		return err
	})
	if err != nil || len(lines) != 4 || !strings.Contains(lines[0], `"stored_version":1`) || !strings.Contains(lines[0], `"quantity":5`) ||
		!strings.Contains(lines[1], `"stored_name":"replenish"`) ||
		!strings.Contains(lines[2], `"retired":"stock checks moved to a reactor"`) {
		t.Fatalf("dump --upcast: %v\n%s", err, strings.Join(lines, "\n"))
	}
	rep, err := offline.CheckLog(dir, newShop())
	if err != nil || !rep.OK() {
		t.Fatalf("log verify: %+v %v", rep, err)
	}
}

// TestOpenRefusesMissingUpcaster: before anything is applied, every
// (command, version) of the log needs a path to a current definition;
// the start names the first seq, the command, its version and the
// missing upcaster.
func TestOpenRefusesMissingUpcaster(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, oldShop())
	submitAll(t, db, workload.Setup(2, 2))
	first := db.View().Seq + 1
	sku := workload.SKU(0)
	submitAll(t, db, []commands.Command{&oldRestock{SKU: sku, Qty: 5}, &stockCheck{SKU: sku}, &oldRestock{SKU: sku, Qty: 1}})
	db.Close()

	without := func(name string) *imago.App {
		app := newShop()
		app.Upcasters = slices.DeleteFunc(app.Upcasters, func(u migrations.Upcaster) bool { return u.Command == name })
		return app
	}
	_, err := imago.Open(dir, without("restock"), imago.Options{})
	var missing *migrations.MissingUpcasterError
	if !errors.As(err, &missing) || missing.Seq != first || missing.Command != "restock" || missing.Version != 1 ||
		!strings.Contains(err.Error(), `migrations.Up("restock", 1, ...)`) {
		t.Fatalf("without restock's upcaster: %v", err)
	}
	t.Log(err)
	_, err = imago.Open(dir, without("stock_check"), imago.Options{})
	if !errors.As(err, &missing) || missing.Seq != first+1 || !strings.Contains(err.Error(), "defines no command stock_check") {
		t.Fatalf("without stock_check's retirement: %v", err)
	}
	t.Log(err)
	// The index of pairs is kept: a second start reads only the new entries.
	db = open(t, dir, newShop())
	submitAll(t, db, []commands.Command{&shop.Restock{SKU: sku, Quantity: 1}})
	db.Close()
	b, err := os.ReadFile(filepath.Join(dir, "log.versions"))
	var idx struct {
		Scanned uint64
		First   map[string]uint64
	}
	if err != nil || json.Unmarshal(b, &idx) != nil {
		t.Fatalf("log.versions: %s %v", b, err)
	}
	if idx.Scanned != first+2 || idx.First["restock@1"] != first || idx.First["stock_check@1"] != first+1 || idx.First["restock@2"] != 0 {
		t.Fatalf("log.versions after the first start: %s", b)
	}
	if db, err = imago.Open(dir, newShop(), imago.Options{}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if b, _ = os.ReadFile(filepath.Join(dir, "log.versions")); !strings.Contains(string(b), fmt.Sprintf(`"restock@2":%d`, first+3)) {
		t.Fatalf("log.versions after the second start: %s", b)
	}
}
