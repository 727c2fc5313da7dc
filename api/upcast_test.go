package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/migrations"
)

// TestOldClientVersion: a client still sending restock v1 {sku, qty}
// (header Imago-Command-Version: 1) is upcast as the log is, then
// validated and applied as v2; a retired command is 410.
func TestOldClientVersion(t *testing.T) {
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
		migrations.Retire("stock_check", 0, "stock checks moved to a reactor"),
	}
	db, err := imago.Open(t.TempDir(), app, imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := api.NewHandler(db, api.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	send := func(path, version, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if version != "" {
			req.Header.Set(api.VersionHeader, version)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := send("/v1/commands/add_product", "", `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`); st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	for _, tc := range []struct {
		version, body string
		status        int
		want          string
	}{
		{"1", `{"sku":"s1","qty":4}`, 200, `"stock":7`},
		{"2", `{"sku":"s1","quantity":1}`, 200, `"stock":8`},
		{"", `{"sku":"s1","quantity":1}`, 200, `"stock":9`},
		{"1", `{"sku":"s1","quantity":1}`, 422, `quantity 0`}, // a v1 body has no quantity: the upcaster sets it from qty (absent)
		{"1", `{"sku":"s1","qty":0}`, 422, `quantity`},        // Validate runs on the upcast command
		{"1", `{"sku":"s1","qty":1,"colour":"red"}`, 400, `colour`},
		{"x", `{}`, 400, api.VersionHeader},
		{"3", `{"sku":"s1","quantity":1}`, 400, `no upcaster`},
	} {
		st, b := send("/v1/commands/restock", tc.version, tc.body)
		if st != tc.status || !strings.Contains(b, tc.want) {
			t.Errorf("v%s %s: %d %s, want %d %s", tc.version, tc.body, st, b, tc.status, tc.want)
		}
	}
	if st, b := send("/v1/commands/stock_check", "1", `{"sku":"s1"}`); st != 410 || !strings.Contains(b, "reactor") {
		t.Errorf("retired: %d %s", st, b)
	}
}
