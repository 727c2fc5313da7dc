package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	imagosql "github.com/imagodb/imago/sql"
	"github.com/imagodb/imago/writer"
)

// BenchmarkAsOfCached is a query of a cached past state against the same
// query of the present, through a MySQL client (target: at most 1.2x):
// revenue by status over 20,000 orders, the past state being the one
// before the last 1,000 orders.
//
//	go test -run '^$' -bench AsOfCached -benchtime 50x ./sql/
func BenchmarkAsOfCached(b *testing.B) {
	db, err := imago.Open(b.TempDir(), shop.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, c := range workload.BenchSetup() {
		if _, err := db.Submit(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	var past uint64
	for n := int64(0); n < 20_000; n += 1000 {
		cmds := make([]commands.Command, 0, 1000)
		for i := n; i < n+1000; i++ {
			cmds = append(cmds, workload.BenchOrder(i))
		}
		db.SubmitAll(ctx, cmds, make([]commands.Meta, len(cmds)))
		if n == 18_000 {
			past = db.DurableSeq()
		}
	}
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "shop", Tables: db.Tables(), Source: db, Past: db, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve()
	defer srv.Close()
	conn, err := gosql.Open("mysql", fmt.Sprintf("root:@tcp(%s)/shop", srv.Addr()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxIdleConns(1)
	query := "SELECT status, COUNT(*), SUM(total_cents) FROM orders%s GROUP BY status"
	run := func(q string) time.Duration {
		t0 := time.Now()
		rs, err := conn.Query(q)
		if err != nil {
			b.Fatal(err)
		}
		for rs.Next() {
		}
		if err := rs.Err(); err != nil {
			b.Fatal(err)
		}
		rs.Close()
		return time.Since(t0)
	}
	present, asOf := fmt.Sprintf(query, ""), fmt.Sprintf(query, fmt.Sprintf(" AS OF %d", past))
	run(asOf) // builds and caches the state
	var tp, ta time.Duration
	for b.Loop() { // alternated, so that both see the same load
		tp += run(present)
		ta += run(asOf)
	}
	k := float64(b.N)
	b.ReportMetric(float64(tp.Microseconds())/1e3/k, "present-ms")
	b.ReportMetric(float64(ta.Microseconds())/1e3/k, "asof-ms")
	b.ReportMetric(float64(ta)/float64(tp), "asof/present")
}
