package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
)

func TestParseTokensRefusesBadFiles(t *testing.T) {
	registry, err := commands.NewRegistry(shop.App().Commands...)
	if err != nil {
		t.Fatal(err)
	}
	const tok = "0123456789abcdef"
	for _, c := range []struct{ file, want string }{
		{"# nothing but comments\n\n", "holds no token"},
		{"short alice\n", "line 1: the token is 5 characters; use at least 16"},
		{tok + "\n", "line 1: want `<token> <actor> [command,command,...|*|- [scopes=log,checkpoints,admin]]`, got 1 fields"},
		{tok + " alice restock extra\n", `actor alice: "extra": want scopes=log,checkpoints,admin after the commands`},
		{tok + " alice restock scopes=log extra\n", "got 5 fields"},
		{tok + " alice scopes=log\n", "actor alice: give the commands before scopes= (* for all, - for none)"},
		{tok + " alice * scopes=log,fly\n", `actor alice: no scope named "fly"`},
		{tok + " alice - scopes=\n", `actor alice: no scope named ""`},
		{tok + " alice restock,fly\n", `line 1: actor alice: no command named "fly"`},
		{"# admin\n" + tok + " alice\n" + tok + " bob\n", "line 3: the token is already given on an earlier line"},
	} {
		if _, err := api.ParseTokens(strings.NewReader(c.file), "tokens", registry); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want %q", c.file, err, c.want)
		}
	}
	if _, err := api.ParseTokens(strings.NewReader(tok+" alice # all\n"+tok+"x bob restock,pay_order\n"+tok+"y carol - scopes=log\n"+tok+"z dave * scopes=admin,checkpoints\n"), "tokens", registry); err != nil {
		t.Fatal(err)
	}
}

// TestTokenScopes: a token limited to restock,pay_order used to read the
// whole history, emails included, through GET /v1/log. Reading the log and
// the admin endpoints now need their scopes; a token of an old file without
// a command list keeps every right, one with a list has no scope.
func TestTokenScopes(t *testing.T) {
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const (
		admin   = "admin-0123456789abcdef"
		till    = "till-0123456789abcdef"
		auditor = "auditor-0123456789abcdef"
		ops     = "ops-0123456789abcdef"
	)
	tokens, err := api.ParseTokens(strings.NewReader(admin+" alice\n"+till+" till restock,pay_order\n"+auditor+" auditor - scopes=log\n"+ops+" ops * scopes=admin\n"), "tokens", db.Registry())
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.NewHandler(db, api.Config{Tokens: tokens, Checkpoint: func() (api.CheckpointResult, error) { return api.CheckpointResult{Seq: db.View().Seq}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	const product = `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`
	for _, c := range []struct {
		name, token, method, path, body string
		status                          int
		want                            string
	}{
		{"admin submits", admin, "POST", "/v1/commands/add_product", product, 200, `"seq":1`},
		{"till restocks", till, "POST", "/v1/commands/restock", `{"sku":"s1","quantity":1}`, 200, `"seq":2`},
		{"till reads the log (the attack)", till, "GET", "/v1/log", "", 403, "actor till may not use /v1/log: it needs the scope log"},
		{"till reads log stats", till, "GET", "/v1/log/stats", "", 403, "needs the scope log"},
		{"till checkpoints", till, "POST", "/v1/admin/checkpoint", "", 403, "needs the scope admin"},
		{"till reads the catalogue", till, "GET", "/v1/commands", "", 200, "restock"},
		{"auditor reads the log", auditor, "GET", "/v1/log?name=add_product", "", 200, `"actor":"alice"`},
		{"auditor reads log stats", auditor, "GET", "/v1/log/stats", "", 200, `"entries":2`},
		{"auditor submits", auditor, "POST", "/v1/commands/restock", `{"sku":"s1","quantity":1}`, 403, "actor auditor may not submit restock"},
		{"auditor checkpoints", auditor, "POST", "/v1/admin/checkpoint", "", 403, "needs the scope admin"},
		{"ops checkpoints", ops, "POST", "/v1/admin/checkpoint", "", 200, `"seq":2`},
		{"ops submits any command", ops, "POST", "/v1/commands/restock", `{"sku":"s1","quantity":1}`, 200, `"seq":3`},
		{"ops reads the log", ops, "GET", "/v1/log", "", 403, "needs the scope log"},
		{"admin reads the log", admin, "GET", "/v1/log/stats", "", 200, `"entries":3`},
		{"admin checkpoints", admin, "POST", "/v1/admin/checkpoint", "", 200, `"seq":3`},
	} {
		t.Run(c.name, func(t *testing.T) {
			header := map[string]string{"Authorization": "Bearer " + c.token, "Content-Type": "application/json"}
			resp, body := request{c.method, c.path, c.body, "", header}.do(t, srv)
			if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
				t.Fatalf("%d %s; want %d containing %q", resp.StatusCode, body, c.status, c.want)
			}
		})
	}
}
