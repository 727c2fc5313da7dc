package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/writer"
)

// FuzzSubmitBody: any body gets a JSON answer with a documented status, and
// nothing but a 200 reaches the log.
func FuzzSubmitBody(f *testing.F) {
	db, err := imago.Open(f.TempDir(), shop.App(), imago.Options{Durability: writer.Durability{Mode: writer.None}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	h, err := api.NewHandler(db, api.Config{MaxBody: 1024})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("place_order", `{"order_id":"o","customer_id":"c","lines":[{"sku":"s","quantity":1}]}`)
	f.Add("register_customer", `{"customer_id":"c","name":"n","email":"a@b","country":"DE"}`)
	f.Add("restock", `{"sku":1}`)
	f.Fuzz(func(t *testing.T, name, body string) {
		before := db.Log().LastSeq()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "http://localhost/v1/commands/"+pathSafe(name), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 413, 422:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %q", rec.Body.String())
		}
		if rec.Code != 200 && db.Log().LastSeq() != before {
			t.Fatalf("a %d reached the log", rec.Code)
		}
	})
}

func pathSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r == '_' {
			return r
		}
		return -1
	}, s)
}
