package difftest

import (
	"context"
	gosql "database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/demo"
	imagosql "github.com/imagodb/imago/sql"
	"github.com/imagodb/imago/writer"
)

func TestScratch(t *testing.T) {
	qs := os.Getenv("SCRATCH")
	if qs == "" {
		t.Skip()
	}
	dir := t.TempDir()
	orders := envInt("IMAGO_DIFFTEST_ORDERS", 1500)
	plan := demo.New(demo.Options{Customers: max(orders/10, 20), Products: max(orders/100, 30), Orders: orders, Seed: 42, Prefix: "d"})
	db, err := imago.Open(dir+"/imago", shop.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}, Now: func() time.Time { return plan.End }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var batch []commands.Import
	for cmd, at := range plan.Timeline() {
		batch = append(batch, commands.Import{Command: cmd, Time: at})
		if len(batch) == 1000 {
			db.Import(ctx, batch, "difftest")
			batch = batch[:0]
		}
	}
	db.Import(ctx, batch, "difftest")
	srv, _ := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "shop", Tables: db.Tables(), Source: db, Log: db.Envelopes(), Version: "difftest"})
	go srv.Serve()
	defer srv.Close()
	conn, _ := gosql.Open("mysql", "root@tcp("+srv.Addr()+")/shop")
	for _, q := range strings.Split(qs, ";;") {
		for _, pre := range []string{"EXPLAIN FORMAT=TREE ", ""} {
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			start := time.Now()
			rows, err := conn.QueryContext(cctx, pre+q)
			if err != nil {
				t.Logf("%s: %v", q, err)
				cancel()
				continue
			}
			n := 0
			var out strings.Builder
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				rows.Scan(ptrs...)
				if pre != "" {
					out.WriteString(string(vals[0].([]byte)) + "\n")
				}
				n++
			}
			err = rows.Err()
			rows.Close()
			cancel()
			t.Logf("%s%s\n%d rows in %v err=%v\n%s", pre, q, n, time.Since(start), err, out.String())
		}
	}
}
