package api

import (
	stdjson "encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/imagodb/imago/examples/shop"
)

// FuzzDecode: decode never panics, answers 0, 400 or 413 with a message,
// and what it accepts means one thing: valid UTF-8, and encoding/json (case-
// insensitive, last duplicate wins) reads the same command from it.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"order_id":"o","customer_id":"c","lines":[{"sku":"s","quantity":1}]}`,
		`{"order_id":"o","order_id":"p"}`,
		`{"ORDER_ID":"o"}`,
		"{\"order_id\":\"o\xff\"}",
		`{"lines":[{"sku":"s","quantity":1.5}]}`,
		`{"lines":[{"sku":"s","quantity":1e30}]}`,
		`{"order_id":"o"} {}`,
		`null`,
		`{"order_id":"\ud800"}`,
		`{"order_id":"o","lines":[{"sku":"s","quantity":1,"Quantity":2}]}`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var strict shop.PlaceOrder
		status, code, msg := decode(strings.NewReader(body), "place_order", &strict)
		switch {
		case status == 0:
		case status == http.StatusBadRequest && code == codeMalformed && msg != "":
			return
		default:
			t.Fatalf("%q: %d %s %q", body, status, code, msg)
		}
		if !utf8.ValidString(body) {
			t.Fatalf("%q: invalid UTF-8 accepted", body)
		}
		var lax shop.PlaceOrder
		if err := stdjson.Unmarshal([]byte(body), &lax); err != nil || !reflect.DeepEqual(lax, strict) {
			t.Fatalf("%q: strictly %+v, but encoding/json reads %+v (%v)", body, strict, lax, err)
		}
	})
}
