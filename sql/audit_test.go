package sql_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop/workload"
)

// TestAuditLookups: imago.commands filtered by actor, by a declared
// payload field's column or by time answers what a full scan answers
// (the filter written so that no index applies), reading through the
// audit index (EXPLAIN), before and after the index caught up.
func TestAuditLookups(t *testing.T) {
	f := startShop(t)
	defer f.stop()
	ctx := context.Background()
	g := workload.New("aud", 4, 20, 10)
	submit := func(n int) {
		for i := range n {
			f.db.SubmitMeta(ctx, g.Next(), commands.Meta{Actor: fmt.Sprintf("clerk-%d", i%4)})
		}
	}
	check := func() {
		t.Helper()
		var at time.Time
		if err := f.conn.QueryRow("SELECT time FROM imago.commands WHERE seq = 200").Scan(&at); err != nil {
			t.Fatal(err)
		}
		ts := at.UTC().Format("2006-01-02 15:04:05.000000")
		for _, c := range []struct{ indexed, scan, index string }{
			{"actor = 'clerk-2'", "CONCAT(actor, '') = 'clerk-2'", "commands.actor"},
			{"customer_id = 'c-000003'", "JSON_UNQUOTE(JSON_EXTRACT(payload, '$.customer_id')) = 'c-000003'", "commands.customer_id"},
			{"order_id = 'o-aud-10'", "JSON_UNQUOTE(JSON_EXTRACT(payload, '$.order_id')) = 'o-aud-10'", "commands.order_id"},
			{"sku = 'sku-00004' AND actor = 'clerk-1'", "JSON_UNQUOTE(JSON_EXTRACT(payload, '$.sku')) = 'sku-00004' AND CONCAT(actor, '') = 'clerk-1'", "commands."},
			{"time >= '" + ts + "'", "seq >= 200", "commands.time"},
			{"time < '" + ts + "' AND actor = 'clerk-0'", "seq < 200 AND CONCAT(actor, '') = 'clerk-0'", "commands."},
		} {
			q := "SELECT seq, name, actor, customer_id, order_id, sku FROM imago.commands WHERE %s ORDER BY seq"
			got, want := rows(t, f.conn, fmt.Sprintf(q, c.indexed)), rows(t, f.conn, fmt.Sprintf(q, c.scan))
			if got != want || want == "" {
				t.Fatalf("%s:\n%s\nwant (%s):\n%s", c.indexed, got, c.scan, want)
			}
			if plan := rows(t, f.conn, "EXPLAIN PLAN "+fmt.Sprintf(q, c.indexed)); !strings.Contains(plan, "index: ["+c.index) {
				t.Fatalf("%s: no index in\n%s", c.indexed, plan)
			}
		}
	}
	submit(300)
	check() // the index may lag: its tail is read
	deadline := time.Now().Add(10 * time.Second)
	for f.db.AuditIndexedThrough() < f.db.DurableSeq() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if f.db.AuditIndexedThrough() < f.db.DurableSeq() {
		t.Fatalf("the index covers seq %d of %d", f.db.AuditIndexedThrough(), f.db.DurableSeq())
	}
	check()
}
