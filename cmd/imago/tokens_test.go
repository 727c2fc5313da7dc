package main

import (
	gosql "database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokensThroughTheBinary: with --http-tokens the server may listen on
// every interface; a missing, unknown or insufficient token gets 401/403
// and changes nothing; the token's actor is what imago.commands records.
func TestTokensThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	const admin, clerk = "admin-0123456789abcdef", "clerk-0123456789abcdef"
	tokens := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(tokens, []byte("# who may write\n"+admin+" alice\n"+clerk+" bob restock,pay_order  # the till\n"), 0o600)
	p := start(t, dir, "--http-addr", "0.0.0.0:0", "--http-tokens", tokens)

	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+p.httpAddr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const product = `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`
	for _, c := range []struct {
		method, path, token, body string
		status                    int
		message                   string
	}{
		{"POST", "/v1/commands/add_product", "", product, 401, "no bearer token"},
		{"POST", "/v1/commands/add_product", "not-a-token-of-this-server", product, 401, "not one of --http-tokens"},
		{"POST", "/v1/commands/add_product", clerk, product, 403, "actor bob may not submit add_product"},
		{"POST", "/v1/admin/checkpoint", clerk, "", 403, "needs the scope admin"},
		{"GET", "/v1/log", clerk, "", 403, "needs the scope log"},
		{"POST", "/v1/commands", clerk, `[{"name":"restock","body":{"sku":"s1","quantity":1}},{"name":"add_product","body":` + product + `}]`, 403, "item 1 (add_product): actor bob may not submit add_product"},
		{"GET", "/v1/log", "", "", 401, "no bearer token"},
		{"GET", "/v1/commands", "", "", 401, "no bearer token"},
	} {
		if status, body := call(c.method, c.path, c.token, c.body); status != c.status || !strings.Contains(body, c.message) {
			t.Errorf("%s %s with %q: %d %s; want %d %q", c.method, c.path, c.token, status, body, c.status, c.message)
		}
	}
	if status, body := call("GET", "/readyz", "", ""); status != 200 || !strings.Contains(body, `"seq":0`) {
		t.Fatalf("refused requests changed something, or readyz needs a token: %d %s", status, body)
	}
	if status, body := call("POST", "/v1/commands/add_product", admin, product); status != 200 {
		t.Fatalf("admin add_product: %d %s", status, body)
	}
	if status, body := call("POST", "/v1/commands/restock", clerk, `{"sku":"s1","quantity":2}`); status != 200 {
		t.Fatalf("clerk restock: %d %s", status, body)
	}
	if status, body := call("POST", "/v1/admin/checkpoint", admin, ""); status != 200 {
		t.Fatalf("admin checkpoint: %d %s", status, body)
	}

	db, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/imago")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var actors string
	if err := db.QueryRow("SELECT GROUP_CONCAT(actor ORDER BY seq) FROM commands").Scan(&actors); err != nil || actors != "alice,bob" {
		t.Fatalf("actors in imago.commands: %q %v", actors, err)
	}
	if _, stderr, err := run(t, "log", "dump", "--http-addr", p.httpAddr); err == nil || !strings.Contains(stderr, "no bearer token") {
		t.Errorf("log dump without a token: %v %s", err, stderr)
	}
	if _, stderr, err := run(t, "log", "dump", "--http-addr", p.httpAddr, "--token", clerk); err == nil || !strings.Contains(stderr, "needs the scope log") {
		t.Errorf("log dump with a token without the log scope: %v %s", err, stderr)
	}
	if out, stderr, err := run(t, "log", "dump", "--http-addr", p.httpAddr, "--token", admin); err != nil || strings.Count(out, "\n") != 2 {
		t.Errorf("log dump with a token: %v %s\n%s", err, stderr, out)
	}
}
