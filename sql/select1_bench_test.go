package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/shop"
	imagosql "github.com/imagodb/imago/sql"
	"github.com/imagodb/imago/writer"
)

// BenchmarkSelectOne is a SELECT 1 round trip over a real MySQL client
// connection (text protocol, one connection), the pools' ping and
// sysbench's select1 loop. It reports the allocations and the process's
// CPU time (client and server: both run here) per round trip; the peer's
// figure is bench/sysbench.sh's (TESTS=select1).
//
//	go test -run '^$' -bench SelectOne -benchtime 20000x ./sql/
func BenchmarkSelectOne(b *testing.B) {
	db, err := imago.Open(b.TempDir(), shop.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "shop", Tables: db.Tables(), Source: db, Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve()
	defer srv.Close()
	pool, err := gosql.Open("mysql", fmt.Sprintf("root:@tcp(%s)/shop", srv.Addr()))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	conn, err := pool.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		b.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU(b)
	for range b.N {
		if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((processCPU(b)-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
