package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/memdb"
)

// TestDryRun: ?dry_run=true answers the result and every row the command
// would insert, update or delete, with before and after; the log and the
// image are untouched, and a refusal is reported as for a real submit.
func TestDryRun(t *testing.T) {
	db, srv := newServer(t)
	for _, c := range []struct{ path, body string }{
		{"/v1/commands/add_product", `{"sku":"s1","name":"Mug","category":"kitchen","price_cents":450,"stock":3}`},
		{"/v1/commands/register_customer", `{"customer_id":"c1","name":"Ada","email":"ada@example.com","country":"GB"}`},
	} {
		if status, body := post(t, srv, c.path, c.body); status != 200 {
			t.Fatalf("%s: %d %s", c.path, status, body)
		}
	}
	seq, hash := db.View().Seq, imageHash(t, db.View().Snapshot)
	last := db.Log().LastSeq()

	status, body := post(t, srv, "/v1/commands/place_order?dry_run=true", `{"order_id":"o1","customer_id":"c1","lines":[{"sku":"s1","quantity":2}]}`)
	var got struct {
		DryRun  bool `json:"dry_run"`
		Seq     uint64
		Result  json.RawMessage
		Changes []struct {
			Table         string
			Key           map[string]any
			Before, After map[string]any
		}
	}
	if err := json.Unmarshal(body, &got); status != 200 || err != nil || !got.DryRun || got.Seq != seq+1 || string(got.Result) != `{"order_id":"o1","total_cents":900}` {
		t.Fatalf("%d %s", status, body)
	}
	byTable := map[string]int{}
	for _, c := range got.Changes {
		byTable[c.Table]++
		switch c.Table {
		case "products": // stock 3 -> 1
			if c.Before["stock"] != 3.0 || c.After["stock"] != 1.0 || c.Key["sku"] != "s1" {
				t.Errorf("products change: %+v", c)
			}
		case "orders", "order_lines": // inserted
			if c.Before != nil || c.After == nil || c.Key["order_id"] != "o1" {
				t.Errorf("%s change: %+v", c.Table, c)
			}
		}
	}
	if len(got.Changes) != 3 || byTable["products"] != 1 || byTable["orders"] != 1 || byTable["order_lines"] != 1 {
		t.Fatalf("changes: %s", body)
	}
	status, body = post(t, srv, "/v1/commands/place_order?dry_run=true", `{"order_id":"o2","customer_id":"c1","lines":[{"sku":"s1","quantity":9}]}`)
	if status != 422 || !strings.Contains(string(body), "insufficient stock") {
		t.Fatalf("refused dry run: %d %s", status, body)
	}
	if status, body = post(t, srv, "/v1/commands/restock?dry_run=maybe", `{"sku":"s1","quantity":1}`); status != 400 || !strings.Contains(string(body), `dry_run=\"maybe\"`) {
		t.Fatalf("bad dry_run: %d %s", status, body)
	}
	if db.View().Seq != seq || db.Log().LastSeq() != last || imageHash(t, db.View().Snapshot) != hash {
		t.Fatal("a dry run changed the log or the image")
	}
	if p, _, _ := shop.Products.Get(db.View().Snapshot, "s1"); p.Stock != 3 {
		t.Fatalf("stock %d after dry runs", p.Stock)
	}
}

func imageHash(t *testing.T, s *memdb.Snapshot) [32]byte {
	t.Helper()
	h, err := s.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
