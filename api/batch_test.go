package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

type batchAnswer struct {
	Results []struct {
		Seq      uint64
		Result   json.RawMessage
		Replayed bool `json:"idempotent_replayed"`
		Error    *struct{ Code, Message string }
	}
}

// TestBatch: the commands of one POST /v1/commands are applied in order,
// each with its own result (invalid and refused ones do not stop the
// others), in one log append; a retry of keyed items is answered from their
// keys; a malformed item refuses the whole request and applies nothing.
func TestBatch(t *testing.T) {
	db, srv := newServer(t)
	const batch = `[
		{"name":"add_product","body":{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3},"idempotency_key":"p-s1"},
		{"name":"register_customer","body":{"customer_id":"c1","name":"Ada","email":"ada@example.com","country":"GB"}},
		{"name":"restock","body":{"sku":"s1","quantity":0}},
		{"name":"place_order","body":{"order_id":"o1","customer_id":"c1","lines":[{"sku":"s1","quantity":5}]}},
		{"name":"place_order","body":{"order_id":"o2","customer_id":"c1","lines":[{"sku":"s1","quantity":2}]}}
	]`
	appends := db.Stats().Batches
	status, body := post(t, srv, "/v1/commands", batch)
	var got batchAnswer
	if err := json.Unmarshal(body, &got); status != 200 || err != nil || len(got.Results) != 5 {
		t.Fatalf("%d %s", status, body)
	}
	r := got.Results
	if r[0].Seq != 1 || r[1].Seq != 2 || r[4].Seq != 3 || string(r[4].Result) != `{"order_id":"o2","total_cents":900}` ||
		r[2].Error == nil || r[2].Error.Code != "invalid_command" || r[3].Error == nil || r[3].Error.Code != "refused" {
		t.Fatalf("results: %s", body)
	}
	if n := db.Stats().Batches - appends; n != 1 || db.View().Seq != 3 {
		t.Fatalf("%d log appends for one batch, seq %d", n, db.View().Seq)
	}

	// A retry: the keyed item is answered from its key, the others apply again or fail again.
	status, body = post(t, srv, "/v1/commands", `[{"name":"add_product","body":{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3},"idempotency_key":"p-s1"}]`)
	if status != 200 || !strings.Contains(string(body), `"seq":1`) || !strings.Contains(string(body), `"idempotent_replayed":true`) {
		t.Fatalf("retry: %d %s", status, body)
	}

	for _, c := range []struct {
		body    string
		status  int
		message string
	}{
		{`[]`, 400, "0 commands: a batch holds 1 to 1000"},
		{`{"name":"restock"}`, 400, "want a JSON array"},
		{`[{"name":"restock","body":{"sku":"s1","quantity":1}},{"name":"fly","body":{}}]`, 404, `item 1 (fly): no command named "fly"`},
		{`[{"name":"restock","body":{"sku":"s1","quantity":1,"colour":"red"}}]`, 400, `item 0 (restock): unknown field "colour"`},
		{`[{"name":"restock","body":{"sku":"s1","quantity":1},"idempotency_key":""}]`, 400, "item 0 (restock): idempotency_key: idempotency key of 0 bytes"},
		{`[{"name":"restock","body":{"sku":"s1","quantity":1,"quantity":5}}]`, 400, `duplicate field "[0].body.quantity"`},
		{`[{"name":"restock","name":"add_product","body":{"sku":"s1","quantity":1}}]`, 400, `duplicate field "[0].name"`},
		{`[{"name":"restock","body":{"sku":"s1","Quantity":5}}]`, 400, `item 0 (restock): unknown field "Quantity"`},
		{"[{\"name\":\"restock\",\"body\":{\"sku\":\"s1\",\"quantity\":1},\"idempotency_key\":\"k\xff\"}]", 400, `in field "[0].idempotency_key": invalid UTF-8`},
		{`[{"name":"restock","body":{"sku":"s1","quantity":1}}] []`, 400, "data after the array"},
		{`[{"name":"restock","body":{"sku":"s1","quantity":1},"priority":9}]`, 400, `unknown field "[0].priority"`},
	} {
		status, body := post(t, srv, "/v1/commands", c.body)
		var e errorBody
		json.Unmarshal(body, &e)
		if status != c.status || !strings.Contains(e.Error.Message, c.message) {
			t.Errorf("%s: %d %s; want %d %q", c.body, status, body, c.status, c.message)
		}
	}
	if db.View().Seq != 3 {
		t.Fatalf("refused batches changed the seq to %d", db.View().Seq)
	}
}
