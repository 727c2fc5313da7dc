package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/examples/shop"
)

// importServer serves a shop with POST /v1/admin/import and two tokens:
// root (admin) and clerk (every command, no admin scope).
func importServer(t *testing.T) (*imago.DB, *httptest.Server) {
	t.Helper()
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tokens, err := api.ParseTokens(strings.NewReader("root-token-0123456789 root\nclerk-token-0123456789 clerk * scopes=log\n"), "tokens", db.Registry())
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewHandler(db, api.Config{Tokens: tokens, Import: db.Import})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return db, srv
}

func postAs(t *testing.T, srv *httptest.Server, token, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

const importedHistory = `[
 {"name":"add_product","time":"2025-01-06T09:30:00.123456Z","id":"p-1","actor":"catalogue","payload":{"sku":"mug","name":"Mug","category":"kitchen","price_cents":1250,"stock":10}},
 {"name":"register_customer","time":"2025-01-07T09:30:00Z","payload":{"customer_id":"ada","name":"Ada","email":"ada@example.com","country":"GB"}},
 {"name":"place_order","time":"2025-01-08T10:00:00+01:00","id":"o-1","actor":"web","payload":{"order_id":"o-1","customer_id":"ada","lines":[{"sku":"mug","quantity":2}]}},
 %s
]`

// TestImportEndpoint: an admin imports a history with its original times;
// the log holds them, recorded as imported; a malformed, invalid, refused or
// out-of-order item is refused with the whole request, naming the item.
func TestImportEndpoint(t *testing.T) {
	for _, c := range []struct {
		name, last string
		status     int
		code, says string
	}{
		{"refused", `{"name":"pay_order","time":"2025-01-08T10:00:01Z","payload":{"order_id":"o-1","amount_cents":1}}`, 422, "refused", "item 3 (pay_order): pay_order refused: order o-1: amount_cents 1 does not equal the total 2500"},
		{"invalid", `{"name":"restock","time":"2025-01-08T10:00:01Z","payload":{"sku":"mug","quantity":-4}}`, 422, "invalid_command", "item 3 (restock)"},
		{"backwards", `{"name":"restock","time":"2025-01-08T08:59:59Z","payload":{"sku":"mug","quantity":4}}`, 422, "time_out_of_order", "times must not go backwards"},
		{"future", `{"name":"restock","time":"2999-01-01T00:00:00Z","payload":{"sku":"mug","quantity":4}}`, 422, "time_out_of_order", "after the clock"},
		{"no time", `{"name":"restock","payload":{"sku":"mug","quantity":4}}`, 400, "malformed_request", `item 3: field "time" is missing`},
		{"bad time", `{"name":"restock","time":"yesterday","payload":{"sku":"mug","quantity":4}}`, 400, "malformed_request", `item 3: field "time": "yesterday" is not an RFC 3339 time`},
		{"unknown command", `{"name":"refund","time":"2025-01-08T10:00:01Z","payload":{}}`, 404, "unknown_command", `item 3: no command named "refund"`},
		{"unknown field", `{"name":"restock","time":"2025-01-08T10:00:01Z","payload":{"sku":"mug","qty":4}}`, 400, "malformed_request", `item 3: field "payload": unknown field "qty"`},
		{"unknown item field", `{"name":"restock","time":"2025-01-08T10:00:01Z","seq":9,"payload":{"sku":"mug","quantity":4}}`, 400, "malformed_request", `item 3: unknown field "seq"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, srv := importServer(t)
			status, body := postAs(t, srv, "root-token-0123456789", "/v1/admin/import", fmt.Sprintf(importedHistory, c.last))
			var e struct {
				Error struct {
					Code, Message string
					Item          *int
				}
			}
			json.Unmarshal(body, &e)
			if status != c.status || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.says) || e.Error.Item == nil || *e.Error.Item != 3 {
				t.Fatalf("%d %s, want %d %s item 3 saying %q", status, body, c.status, c.code, c.says)
			}
			if db.View().Seq != 0 {
				t.Fatalf("a refused import applied %d commands", db.View().Seq)
			}
		})
	}

	db, srv := importServer(t)
	last := `{"name":"pay_order","time":"2025-01-08T10:00:01Z","id":"pay-1","actor":"psp","cause":"o-1","payload":{"order_id":"o-1","amount_cents":2500}}`
	if status, body := postAs(t, srv, "clerk-token-0123456789", "/v1/admin/import", fmt.Sprintf(importedHistory, last)); status != 403 {
		t.Fatalf("a token without the admin scope: %d %s", status, body)
	}
	status, body := postAs(t, srv, "root-token-0123456789", "/v1/admin/import", fmt.Sprintf(importedHistory, last))
	if status != 200 || string(body) != "{\"first_seq\":1,\"imported\":4,\"last_seq\":4}\n" {
		t.Fatalf("%d %s", status, body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/log", nil)
	req.Header.Set("Authorization", "Bearer root-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []string
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		var env struct {
			Seq              uint64
			ID, Actor, Cause string
			ImportedBy       string `json:"imported_by"`
			Time             time.Time
		}
		json.Unmarshal(sc.Bytes(), &env)
		got = append(got, fmt.Sprintf("%d %s %s %s %s %s", env.Seq, env.Time.Format(time.RFC3339Nano), env.ID, env.Actor, env.Cause, env.ImportedBy))
	}
	if len(got) != 4 || !strings.HasPrefix(got[0], "1 2025-01-06T09:30:00.123456Z p-1 catalogue  root") ||
		!strings.HasPrefix(got[1], "2 2025-01-07T09:30:00Z ") || !strings.HasSuffix(got[1], " root  root") ||
		got[2] != "3 2025-01-08T09:00:00Z o-1 web  root" || got[3] != "4 2025-01-08T10:00:01Z pay-1 psp o-1 root" {
		t.Errorf("the log:\n%s", strings.Join(got, "\n"))
	}
	o, _, _ := shop.Orders.Get(db.View().Snapshot, "o-1")
	if o.Status != shop.StatusPaid || !o.PlacedAt.Equal(time.Date(2025, 1, 8, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("order o-1: %+v, want paid, placed at its original time", o)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}

// FuzzImportItem: an imported item's decoder never panics on outside bytes,
// and what it accepts has a time and a command.
func FuzzImportItem(f *testing.F) {
	f.Add([]byte(`{"name":"restock","time":"2025-01-08T10:00:01Z","payload":{"sku":"mug","quantity":4}}`))
	f.Add([]byte(`{"name":"place_order","version":1,"time":"2025-01-08T10:00:00+01:00","id":"o","payload":{"order_id":"o","customer_id":"c","lines":[{"sku":"s","quantity":1}]}}`))
	f.Add([]byte(`{"name":"restock","time":"2025-01-08T10:00:01Z","payload":[]}`))
	db, err := imago.Open(f.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	dec := api.ImportDecoder{Registry: db.Registry(), Upcaster: db.Upcaster()}
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := dec.Decode(b)
		if err == nil && (it.Command == nil || it.Time.IsZero()) {
			t.Fatalf("%q decoded to %+v", b, it)
		}
	})
}
