package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// postKeyed posts body with an Idempotency-Key header.
func postKeyed(t *testing.T, srv *httptest.Server, path, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestIdempotencyKeyHeader: a retry gets the original answer with
// Idempotent-Replayed: true (the body's spacing and field order do not
// matter), another body under the key is 409, a bad key 400, and neither
// changes anything.
func TestIdempotencyKeyHeader(t *testing.T) {
	db, srv := newServer(t)
	const product = `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`
	resp, first := postKeyed(t, srv, "/v1/commands/add_product", "add-s1", product)
	if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %s %v", resp.StatusCode, first, resp.Header)
	}
	resp, again := postKeyed(t, srv, "/v1/commands/add_product", "add-s1", `{"stock":3, "price_cents":450, "category":"kitchen", "name":"Mug", "sku":"s1"}`)
	if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "true" || string(again) != string(first) {
		t.Fatalf("retry: %d %s %v; want %s", resp.StatusCode, again, resp.Header, first)
	}
	seq := db.View().Seq
	for _, c := range []struct {
		key, path, body string
		status          int
		code, message   string
	}{
		{"add-s1", "/v1/commands/add_product", strings.Replace(product, "450", "460", 1), 409, "idempotency_conflict", `idempotency key "add-s1" was used by seq 1`},
		{"add-s1", "/v1/commands/restock", `{"sku":"s1","quantity":1}`, 409, "idempotency_conflict", "another command or body"},
		{"", "/v1/commands/restock", `{"sku":"s1","quantity":1}`, 400, "malformed_request", "header Idempotency-Key: idempotency key of 0 bytes"},
		{strings.Repeat("k", 201), "/v1/commands/restock", `{"sku":"s1","quantity":1}`, 400, "malformed_request", "want 1 to 200"},
		{"tab\there", "/v1/commands/restock", `{"sku":"s1","quantity":1}`, 400, "malformed_request", "only printable characters"},
	} {
		resp, body := postKeyed(t, srv, c.path, c.key, c.body)
		var e errorBody
		json.Unmarshal(body, &e)
		if resp.StatusCode != c.status || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.message) {
			t.Errorf("key %q %s: %d %s; want %d %s %q", c.key, c.path, resp.StatusCode, body, c.status, c.code, c.message)
		}
	}
	if db.View().Seq != seq {
		t.Fatalf("refused requests changed the seq: %d, want %d", db.View().Seq, seq)
	}
}
