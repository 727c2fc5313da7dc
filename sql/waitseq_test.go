package sql_test

import (
	"context"
	"testing"
	"time"

	"github.com/imagodb/imago/examples/shop"
)

// TestWaitForSeq: imago_wait_for_seq(N, timeout) answers -1 when seq N is
// not visible within the timeout, 0 once it is (a write that lands while
// it waits), and the next statement reads a snapshot holding N.
func TestWaitForSeq(t *testing.T) {
	f := newFixture(t)
	next := f.db.View().Seq + 1
	if got := f.scalar(t, "SELECT imago_wait_for_seq(?, 0.2)", next); got != "-1" {
		t.Fatalf("waiting for seq %d that never comes: %s, want -1", next, got)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		f.db.Submit(context.Background(), &shop.AddProduct{SKU: "late", Name: "Late", Category: "c", PriceCents: 1, Stock: 1})
	}()
	if got := f.scalar(t, "SELECT imago_wait_for_seq(?, 30)", next); got != "0" {
		t.Fatalf("waiting for seq %d while it is written: %s, want 0", next, got)
	}
	if got := f.scalar(t, "SELECT COUNT(*) FROM products WHERE sku = 'late'"); got != "1" {
		t.Fatalf("the next statement does not see seq %d's write: %s", next, got)
	}
	if got := f.scalar(t, "SELECT imago_wait_for_seq(1, 0)"); got != "0" {
		t.Fatalf("a seq already visible: %s, want 0", got)
	}
}
