package tpch_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/tpch"
	"github.com/imagodb/imago/writer"
)

func open(t *testing.T) *imago.DB {
	t.Helper()
	db, err := imago.Open(t.TempDir(), tpch.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestLoadCommands: the load commands insert their rows (decimals and dates
// survive the log: the image is its replay); a duplicate key or an empty or
// oversized load is refused and changes nothing.
func TestLoadCommands(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	day := time.Date(1995, 3, 15, 0, 0, 0, 0, time.UTC)
	order := &tpch.LoadOrders{
		Rows: []tpch.Order{{OrderKey: 1, CustKey: 1, OrderStatus: "O", TotalPrice: decimal.RequireFromString("173665.47"), OrderDate: day, OrderPriority: "5-LOW", Clerk: "Clerk#000000951"}},
		Lines: []tpch.LineItem{{OrderKey: 1, PartKey: 2, SuppKey: 3, LineNumber: 1, Quantity: decimal.NewFromInt(17), ExtendedPrice: decimal.RequireFromString("21168.23"),
			Discount: decimal.RequireFromString("0.04"), Tax: decimal.RequireFromString("0.02"), ReturnFlag: "N", LineStatus: "O", ShipDate: day, CommitDate: day, ReceiptDate: day}},
	}
	if _, err := db.Submit(ctx, order); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		cmd  commands.Command
		says string
	}{
		"duplicate": {order, "duplicate primary key"},
		"empty":     {&tpch.LoadRegions{}, "0 rows: a load holds 1 to 10000"},
		"too many":  {&tpch.LoadNations{Rows: make([]tpch.Nation, tpch.MaxRows+1)}, "10001 rows"},
	} {
		if _, err := db.Submit(ctx, c.cmd); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.says)
		}
	}
	snap := db.View().Snapshot
	if db.View().Seq != 1 || snap.Count(tpch.LineItems.Table()) != 1 {
		t.Fatalf("seq %d, %d lines", db.View().Seq, snap.Count(tpch.LineItems.Table()))
	}
	l, _, _ := tpch.LineItems.Get(snap, int64(1), int32(1))
	if !l.Discount.Equal(decimal.RequireFromString("0.04")) || !l.ShipDate.Equal(day) {
		t.Errorf("line %+v", l)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}

// TestGenerate: dbgen's rows at scale factor 0.01 load whole (each table
// the specification's share, keys folded consistently). It runs with
// IMAGO_TPCH=1: dbgen builds a 300 MB text pool first (about 40 s).
func TestGenerate(t *testing.T) {
	if os.Getenv("IMAGO_TPCH") != "1" {
		t.Skip("IMAGO_TPCH=1 (make tpch) runs dbgen: its start alone takes about 40 s")
	}
	if _, err := tpch.Generate(0.001); err == nil {
		t.Error("scale factor 0.001 accepted; below 0.01 a part would have a supplier twice")
	}
	data, err := tpch.Generate(0.01)
	if err != nil {
		t.Fatal(err)
	}
	db := open(t)
	if err := data.Load(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	snap := db.View().Snapshot
	rows := 0
	for _, table := range db.Tables() {
		rows += int(snap.Count(table))
	}
	for table, want := range map[string]int64{"orders": 15000, "customer": 1500, "part": 2000, "partsupp": 8000, "supplier": 100, "nation": 25, "region": 5} {
		for _, tb := range db.Tables() {
			if tb.Name() == table && snap.Count(tb) != want {
				t.Errorf("%s: %d rows, want %d", table, snap.Count(tb), want)
			}
		}
	}
	if rows != data.Rows {
		t.Errorf("%d rows loaded of %d generated", rows, data.Rows)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}
