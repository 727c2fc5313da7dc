package tpch

import (
	"fmt"
	"context"
	gosql "database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/tpch"
	imagosql "github.com/imagodb/imago/sql"
	"github.com/imagodb/imago/writer"
)

func TestScratch(t *testing.T) {
	only := os.Getenv("SCRATCH")
	if only == "" {
		t.Skip()
	}
	dir := "/tmp/tpch-scratch"
	_, statErr := os.Stat(dir)
	db, err := imago.Open(dir, tpch.App(), imago.Options{Durability: writer.Durability{Mode: writer.Always}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if statErr != nil {
		data, err := tpch.Generate(0.01)
		if err != nil {
			t.Fatal(err)
		}
		if err := data.Load(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	srv, _ := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "tpch", Tables: db.Tables(), Source: db, Log: db.Envelopes(), Version: "tpch", QueryTimeout: 100 * time.Second})
	go srv.Serve()
	defer srv.Close()
	conn, _ := gosql.Open("mysql", "root@tcp("+srv.Addr()+")/tpch")
	qs := readQueries(t)
	if x := os.Getenv("QTEXT"); x != "" {
		qs = nil
		for i, q := range strings.Split(x, ";;") {
			qs = append(qs, query{name: fmt.Sprint("x", i), text: q})
			only += fmt.Sprint(",x", i)
		}
	}
	for _, q := range qs {
		if !strings.Contains(","+only+",", ","+q.name+",") {
			continue
		}
		for _, pre := range []string{"EXPLAIN FORMAT=TREE ", ""} {
			if pre != "" && os.Getenv("NOEXPLAIN") != "" {
				continue
			}
			a := run(ctx, conn, pre+q.text)
			var b strings.Builder
			if pre != "" {
				for _, r := range a.rows {
					b.WriteString(r[0] + "\n")
				}
			} else {
				for i, r := range a.rows {
					if i < 5 || os.Getenv("QTEXT") != "" {
						b.WriteString(strings.Join(r, " | ") + "\n")
					}
				}
			}
			t.Logf("%s %s: %d rows in %v err=%v\n%s", pre, q.name, len(a.rows), a.took, a.err, b.String())
		}
	}
}
