package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/examples/shop"
)

func newServer(t *testing.T) (*imago.DB, *httptest.Server) {
	t.Helper()
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h, err := api.NewHandler(db, api.Config{MaxBody: 4096})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return db, srv
}

type errorBody struct {
	Error struct{ Code, Message string }
}

func post(t *testing.T, srv *httptest.Server, path, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestSubmitAndResult(t *testing.T) {
	db, srv := newServer(t)
	status, body := post(t, srv, "/v1/commands/add_product", `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`)
	if status != 200 || string(body) != "{\"result\":null,\"seq\":1}\n" {
		t.Fatalf("%d %s", status, body)
	}
	post(t, srv, "/v1/commands/register_customer", `{"customer_id":"c1","name":"Ada","email":"ada@example.com","country":"GB"}`)
	status, body = post(t, srv, "/v1/commands/place_order", `{"order_id":"o1","customer_id":"c1","lines":[{"sku":"s1","quantity":2}]}`)
	if status != 200 || string(body) != "{\"result\":{\"order_id\":\"o1\",\"total_cents\":900},\"seq\":3}\n" {
		t.Fatalf("%d %s", status, body)
	}
	if db.View().Seq != 3 {
		t.Fatalf("seq %d", db.View().Seq)
	}
}

func TestBadInput(t *testing.T) {
	db, srv := newServer(t)
	if status, body := post(t, srv, "/v1/commands/add_product", `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`); status != 200 {
		t.Fatalf("setup: %d %s", status, body)
	}
	cases := []struct {
		name, path, body string
		status           int
		code, message    string
	}{
		{"malformed JSON", "/v1/commands/restock", `{"sku": "s1",`, 400, "malformed_request", "malformed JSON"},
		{"syntax error", "/v1/commands/restock", `{"sku" "s1"}`, 400, "malformed_request", "malformed JSON at byte"},
		{"empty body", "/v1/commands/restock", ``, 400, "malformed_request", "empty body"},
		{"not an object", "/v1/commands/restock", `[1,2]`, 400, "malformed_request", "must be a JSON object"},
		{"trailing data", "/v1/commands/restock", `{"sku":"s1","quantity":1} {}`, 400, "malformed_request", "data after the command object"},
		{"unknown field", "/v1/commands/restock", `{"sku":"s1","quantity":1,"colour":"red"}`, 400, "malformed_request", `unknown field "colour" for command restock`},
		{"wrong type", "/v1/commands/restock", `{"sku":"s1","quantity":"many"}`, 400, "malformed_request", `field "quantity" of restock must be an integer (int64), not a JSON string`},
		{"wrong nested type", "/v1/commands/place_order", `{"order_id":"o","customer_id":"c","lines":[{"sku":"s1","quantity":1.5}]}`, 400, "malformed_request", `field "lines[0].quantity" of place_order must be an integer (int64), not a JSON number`},
		{"duplicate field", "/v1/commands/restock", `{"sku":"s1","quantity":1,"quantity":5}`, 400, "malformed_request", `duplicate field "quantity" for command restock`},
		{"duplicate nested field", "/v1/commands/place_order", `{"order_id":"o","customer_id":"c","lines":[{"sku":"s1","sku":"s2","quantity":1}]}`, 400, "malformed_request", `duplicate field "lines[0].sku"`},
		{"field name in another case", "/v1/commands/restock", `{"sku":"s1","QUANTITY":5}`, 400, "malformed_request", `unknown field "QUANTITY" for command restock (names are case-sensitive)`},
		{"invalid UTF-8", "/v1/commands/restock", "{\"sku\":\"s1\xff\",\"quantity\":1}", 400, "malformed_request", `in field "sku": invalid UTF-8`},
		{"null", "/v1/commands/restock", `null`, 400, "malformed_request", "must be a JSON object, not a JSON null"},
		{"out of range", "/v1/commands/restock", `{"sku":"s1","quantity":1e30}`, 400, "malformed_request", `field "quantity" of restock`},
		{"unknown command", "/v1/commands/launch_rocket", `{}`, 404, "unknown_command", `no command named "launch_rocket"`},
		{"oversized body", "/v1/commands/restock", `{"sku":"` + strings.Repeat("x", 5000) + `","quantity":1}`, 413, "too_large", "larger than the limit of 4096 bytes"},
		{"invalid", "/v1/commands/restock", `{"sku":"s1","quantity":0}`, 422, "invalid_command", "quantity 0 must be positive"},
		{"refused", "/v1/commands/restock", `{"sku":"nope","quantity":1}`, 422, "refused", "unknown sku nope"},
		{"overflowing amounts", "/v1/commands/add_product", `{"sku":"s2","name":"x","category":"c","price_cents":9223372036854775807,"stock":9223372036854775807}`, 422, "invalid_command", "price_cents 9223372036854775807 is over the maximum of 100000000000; stock 9223372036854775807 is over"},
		{"restock by 2^63-1", "/v1/commands/restock", `{"sku":"s1","quantity":9223372036854775807}`, 422, "invalid_command", "quantity 9223372036854775807 is over the maximum"},
		{"no endpoint", "/v2/whatever", `{}`, 404, "not_found", "no endpoint POST /v2/whatever"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, srv, c.path, c.body)
			var e errorBody
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q is not the error JSON: %v", body, err)
			}
			if status != c.status || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.message) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", status, e.Error.Code, e.Error.Message, c.status, c.code, c.message)
			}
		})
	}
	if last := db.Log().LastSeq(); last != 1 {
		t.Fatalf("bad requests reached the log: last seq %d, want 1", last)
	}
}

func TestCatalogAndHealth(t *testing.T) {
	_, srv := newServer(t)
	resp, err := http.Get(srv.URL + "/v1/commands")
	if err != nil {
		t.Fatal(err)
	}
	var cat struct {
		Commands []struct {
			Name   string
			Schema struct {
				Properties map[string]map[string]any
				Required   []string
			}
		}
	}
	json.NewDecoder(resp.Body).Decode(&cat)
	resp.Body.Close()
	if len(cat.Commands) != 8 {
		t.Fatalf("%d commands listed, want 8", len(cat.Commands))
	}
	for _, c := range cat.Commands {
		if c.Name != "place_order" {
			continue
		}
		lines := c.Schema.Properties["lines"]
		items := lines["items"].(map[string]any)["properties"].(map[string]any)
		if lines["type"] != "array" || items["quantity"].(map[string]any)["type"] != "integer" || len(c.Schema.Required) != 3 {
			t.Fatalf("place_order schema: %+v", c.Schema)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, err, resp.StatusCode)
		}
		resp.Body.Close()
	}
}
