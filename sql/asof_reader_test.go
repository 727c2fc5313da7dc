package sql_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	imagosql "github.com/imagodb/imago/sql"
)

// TestAsOfReader: an account that reads shop reads its past too, in AS OF,
// qualified names and as its connection's database.
func TestAsOfReader(t *testing.T) {
	db, _ := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	defer db.Close()
	for _, c := range workload.Setup(5, 5) {
		db.Submit(context.Background(), c)
	}
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "shop", Tables: db.Tables(), Source: db, Past: db, Version: "t",
		Users: []imagosql.User{{Name: "root", Password: "x", Admin: true}, {Name: "r", Password: "pw"}}})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Close()
	for _, dbn := range []string{"shop", "shop@3"} {
		conn, _ := gosql.Open("mysql", fmt.Sprintf("r:pw@tcp(%s)/%s", srv.Addr(), dbn))
		for _, q := range []string{"SELECT COUNT(*) FROM products AS OF 3", "SELECT COUNT(*) FROM `shop@3`.products", "SELECT COUNT(*) FROM products"} {
			var n int
			if err := conn.QueryRow(q).Scan(&n); err != nil {
				t.Fatalf("connected to %s: %s: %v", dbn, q, err)
			}
			if want := map[bool]int{true: 3, false: 5}[dbn == "shop@3" || q != "SELECT COUNT(*) FROM products"]; n != want {
				t.Fatalf("connected to %s: %s: %d, want %d", dbn, q, n, want)
			}
		}
		conn.Close()
	}
}
