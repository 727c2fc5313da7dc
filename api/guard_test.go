package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/examples/shop"
)

// request is one HTTP request of a test, with the headers a browser or an
// attacker would set.
type request struct {
	method, path, body string
	host               string            // "": the server's address
	header             map[string]string // set as given
}

func (q request) do(t *testing.T, srv *httptest.Server) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(q.method, srv.URL+q.path, strings.NewReader(q.body))
	if err != nil {
		t.Fatal(err)
	}
	if q.host != "" {
		req.Host = q.host
	}
	for k, v := range q.header {
		req.Header.Set(k, v)
	}
	return q.send(t, req)
}

// send sends req and returns the answer, its body with the quotes of JSON
// strings unescaped, as the messages read.
func (request) send(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, strings.ReplaceAll(string(b), `\"`, `"`) // quotes as in the message

}

// TestBrowserGuard replays what a web page the local user visits could do
// to the loopback API without tokens: a cross-origin POST in text/plain or
// as a form (CSRF), and reads through a name rebound to 127.0.0.1 (DNS
// rebinding). Each is refused and changes nothing; the API's own clients
// (JSON, no Origin, addressed to a loopback name) still work.
func TestBrowserGuard(t *testing.T) {
	db, srv := newServer(t)
	if status, body := post(t, srv, "/v1/commands/add_product", `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`); status != 200 {
		t.Fatalf("setup: %d %s", status, body)
	}
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	const restock = `{"sku":"s1","quantity":1}`
	json := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name   string
		req    request
		status int
		want   string
	}{
		{"CSRF: text/plain from another origin", request{"POST", "/v1/commands/restock", restock, "", map[string]string{"Content-Type": "text/plain", "Origin": "https://attacker.example"}},
			403, "a page of https://attacker.example may not use this API"},
		{"CSRF: JSON from another origin", request{"POST", "/v1/commands/restock", restock, "", map[string]string{"Content-Type": "application/json", "Origin": "https://attacker.example"}}, 403, "may not use this API"},
		{"CSRF: origin null", request{"POST", "/v1/commands/restock", restock, "", map[string]string{"Content-Type": "application/json", "Origin": "null"}}, 403, "a page of null"},
		{"text/plain without an origin", request{"POST", "/v1/commands/restock", restock, "", map[string]string{"Content-Type": "text/plain"}}, 415, `Content-Type "text/plain": send the body as JSON`},
		{"a form, as curl -d sends", request{"POST", "/v1/commands/restock", restock, "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "Content-Type: application/json"},
		{"no content type", request{"POST", "/v1/commands", `[{"name":"restock","body":` + restock + `}]`, "", nil}, 415, "no Content-Type"},
		{"JSON in another charset", request{"POST", "/v1/commands/restock", restock, "", map[string]string{"Content-Type": "application/json; charset=latin1"}}, 415, "JSON is UTF-8"},
		{"DNS rebinding: read the log", request{"GET", "/v1/log", "", "rebind.attacker.example:" + port, nil}, 421, `Host "rebind.attacker.example:` + port + `" is not this server`},
		{"DNS rebinding: write", request{"POST", "/v1/commands/restock", restock, "rebind.attacker.example:" + port, json}, 421, "DNS rebinding"},
		{"a cross-site navigation", request{"GET", "/v1/log", "", "", map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, "a cross-site browser request"},
		// What must keep working.
		{"JSON with charset", request{"POST", "/v1/commands/restock", restock, "", map[string]string{"Content-Type": "application/json; charset=UTF-8"}}, 200, `"seq":2`},
		{"the server's own origin", request{"POST", "/v1/commands/restock", restock, "", map[string]string{"Content-Type": "application/json", "Origin": srv.URL, "Sec-Fetch-Site": "same-origin"}}, 200, `"seq":3`},
		{"localhost", request{"GET", "/v1/log/stats", "", "localhost:" + port, nil}, 200, `"entries":3`},
		{"LOCALHOST.", request{"GET", "/v1/log/stats", "", "LOCALHOST.:" + port, nil}, 200, `"entries":3`},
		{"::1", request{"GET", "/v1/log/stats", "", "[::1]:" + port, nil}, 200, `"entries":3`},
		{"127.0.0.2", request{"GET", "/healthz", "", "127.0.0.2", nil}, 200, "ok"},
		{"an empty POST needs no content type", request{"POST", "/v1/commands/restock", "", "", nil}, 400, "empty body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := c.req.do(t, srv)
			if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
				t.Fatalf("%d %s; want %d containing %q", resp.StatusCode, body, c.status, c.want)
			}
		})
	}
	if last := db.Log().LastSeq(); last != 3 {
		t.Fatalf("last seq %d, want 3: a refused request reached the log", last)
	}
}

// TestAllowedOriginsAndHosts: an allowed origin's page may call the API,
// with CORS headers and its preflight answered; an allowed host name is
// accepted without tokens; with tokens the Host is not checked (a page
// has no token); and an origin that is not scheme://host is a
// configuration error.
func TestAllowedOriginsAndHosts(t *testing.T) {
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := api.NewHandler(db, api.Config{AllowedOrigins: []string{"https://admin.example"}, AllowedHosts: []string{"Imago.Internal"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	admin := map[string]string{"Origin": "https://admin.example", "Content-Type": "application/json"}
	resp, body := request{"POST", "/v1/commands/add_product", `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`, "", admin}.do(t, srv)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://admin.example" {
		t.Fatalf("allowed origin: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = request{"OPTIONS", "/v1/commands/restock", "", "", map[string]string{"Origin": "https://admin.example", "Access-Control-Request-Method": "POST"}}.do(t, srv)
	if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Fatalf("preflight: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	if resp, body := (request{"GET", "/v1/log/stats", "", "imago.internal:8080", nil}).do(t, srv); resp.StatusCode != 200 {
		t.Fatalf("allowed host: %d %s", resp.StatusCode, body)
	}

	tokens, err := api.ParseTokens(strings.NewReader("0123456789abcdef alice\n"), "tokens", db.Registry())
	if err != nil {
		t.Fatal(err)
	}
	h, err = api.NewHandler(db, api.Config{Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	withTokens := httptest.NewServer(h)
	defer withTokens.Close()
	resp, body = request{"GET", "/v1/log/stats", "", "imago.example.com", map[string]string{"Authorization": "Bearer 0123456789abcdef"}}.do(t, withTokens)
	if resp.StatusCode != 200 {
		t.Fatalf("with tokens, any Host: %d %s", resp.StatusCode, body)
	}

	for _, origin := range []string{"null", "admin.example", "https://admin.example/", "ftp://admin.example"} {
		if _, err := api.NewHandler(db, api.Config{AllowedOrigins: []string{origin}}); err == nil || !strings.Contains(err.Error(), "want scheme://host[:port]") {
			t.Errorf("AllowedOrigins %q: %v", origin, err)
		}
	}
}
