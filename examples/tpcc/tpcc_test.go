package tpcc_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/tpcc"
	"github.com/imagodb/imago/examples/tpcc/workload"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/server"
	"github.com/imagodb/imago/writer"
)

// serve starts the real server (HTTP and MySQL on loopback, durability
// always) with the app until the test ends.
func serve(t *testing.T, app *imago.App) *server.Server {
	t.Helper()
	s, err := server.Start(server.Config{
		App: app, Data: filepath.Join(t.TempDir(), "data"), Logger: slog.New(slog.DiscardHandler),
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
	s := serve(t, tpcc.App())
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

// forgetfulPayment is Payment that leaves the district's d_ytd as it was:
// the bug consistency conditions 1 and 9 are there to catch.
type forgetfulPayment struct{ tpcc.Payment }

func (c *forgetfulPayment) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	d, _, err := tpcc.Districts.Get(tx, c.WID, c.DID)
	if err != nil {
		return nil, err
	}
	res, err := c.Payment.Apply(tx, env)
	if err != nil {
		return nil, err
	}
	return res, tpcc.Districts.Update(tx, d)
}

// TestCheckFindsABrokenTransaction: with a Payment that forgets the
// district, the check names conditions 1 and 9 and no other.
func TestCheckFindsABrokenTransaction(t *testing.T) {
	app := tpcc.App()
	for i, def := range app.Commands {
		if def.Name == "payment" {
			app.Commands[i] = commands.Define[forgetfulPayment]("payment", 1)
		}
	}
	s := serve(t, app)
	ctx := context.Background()
	c, err := workload.NewClient(s.HTTPAddr(), s.MySQLAddr(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	scale := workload.Scale{Warehouses: 1, Items: 100, Customers: 10}
	if err := workload.Load(ctx, c, scale, 7, 0, 2); err != nil {
		t.Fatal(err)
	}
	pay := &forgetfulPayment{tpcc.Payment{WID: 1, DID: 3, CWID: 1, CDID: 3, CID: 4, AmountCents: 12345}}
	if _, err := s.DB().Submit(ctx, pay); err != nil {
		t.Fatal(err)
	}
	err = workload.Check(ctx, c.DB)
	if err == nil {
		t.Fatal("the check passed a Payment that forgot the district")
	}
	for _, want := range []string{"condition 1 (W_YTD = sum(D_YTD)) fails at 1 keys: (1) 1123.45 against 1000",
		"condition 9 (D_YTD = sum(H_AMOUNT)) fails at 1 keys: (1,3) 100 against 223.45"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("check's error lacks %q:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "condition "); n != 2 {
		t.Errorf("%d conditions failed, want 2:\n%v", n, err)
	}
}

// TestRefusals: bad input is refused naming the field, and an order with an
// unused item (New-Order's rollback) is refused by Apply; neither changes
// the district's next order id or the orders.
func TestRefusals(t *testing.T) {
	s := serve(t, tpcc.App())
	ctx := context.Background()
	c, err := workload.NewClient(s.HTTPAddr(), s.MySQLAddr(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := workload.Load(ctx, c, workload.Scale{Warehouses: 1, Items: 100, Customers: 10}, 7, 0, 2); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		var next, orders int
		if err := c.DB.QueryRow("SELECT d_next_o_id, (SELECT COUNT(*) FROM orders) FROM district WHERE d_w_id = 1 AND d_id = 2").Scan(&next, &orders); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(next, " ", orders)
	}
	before := state()
	line := func(iid, qty int32) []tpcc.LineItem {
		return []tpcc.LineItem{{IID: 5, SupplyWID: 1, Quantity: 1}, {IID: iid, SupplyWID: 1, Quantity: qty}}
	}
	for _, tc := range []struct {
		name string
		cmd  commands.Command
		want string
	}{
		{"quantity over 10", &tpcc.NewOrder{WID: 1, DID: 2, CID: 3, Lines: line(7, 11)}, "422 Unprocessable Entity: {\"error\":{\"code\":\"invalid_command\",\"message\":\"lines[1].quantity 11 is out of range: want 1 to 10\"}}"},
		{"no lines", &tpcc.NewOrder{WID: 1, DID: 2, CID: 3}, "lines 0 is out of range: want 1 to 15"},
		{"unused item (the rollback)", &tpcc.NewOrder{WID: 1, DID: 2, CID: 3, Lines: line(101, 1)}, "refused: item number 101 is not valid"},
		{"unknown customer", &tpcc.NewOrder{WID: 1, DID: 2, CID: 11, Lines: line(7, 1)}, "refused: unknown customer 11 of district 2, warehouse 1"},
		{"payment by id and name", &tpcc.Payment{WID: 1, DID: 2, CWID: 1, CDID: 2, CID: 3, CLast: "BARBARBAR", AmountCents: 100}, "c_id and c_last: give exactly one"},
		{"payment to nobody", &tpcc.Payment{WID: 1, DID: 2, CWID: 1, CDID: 2, CLast: "EINGEINGEING", AmountCents: 100}, "refused: no customer named EINGEINGEING in district 2, warehouse 1"},
		{"delivery carrier 11", &tpcc.Delivery{WID: 1, CarrierID: 11}, "o_carrier_id 11 is out of range: want 1 to 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Submit(ctx, tc.cmd, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if after := state(); after != before {
				t.Fatalf("district 2's next order id and the orders went from %s to %s", before, after)
			}
		})
	}
}
