package main

import (
	gosql "database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
)

// webhookReceiver is the other end of --webhook-url: it records what it
// got and answers as told.
type webhookReceiver struct {
	mu       sync.Mutex
	answer   int           // the status to answer; 0: hang until the request ends
	arrived  chan struct{} // a request came in
	accepted []shop.Notification
}

func (w *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var n shop.Notification
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil || r.Header.Get("Idempotency-Key") != n.Delivery {
		http.Error(rw, fmt.Sprintf("bad notification (%v) or key %q", err, r.Header.Get("Idempotency-Key")), 400)
		return
	}
	select {
	case w.arrived <- struct{}{}:
	default:
	}
	w.mu.Lock()
	answer := w.answer
	if answer == 200 {
		w.accepted = append(w.accepted, n)
	}
	w.mu.Unlock()
	if answer == 0 {
		<-r.Context().Done()
		return
	}
	rw.WriteHeader(answer)
}

func (w *webhookReceiver) set(answer int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answer = answer
}

// waitAccepted waits for n accepted notifications and returns them.
func (w *webhookReceiver) waitAccepted(t *testing.T, n int) []shop.Notification {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		w.mu.Lock()
		got := append([]shop.Notification(nil), w.accepted...)
		w.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications accepted, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShopReactorsThroughTheBinary: the webhook reactor posts a
// notification that a SIGKILL interrupted once the order's payment was
// durable, after the restart, then retries a receiver that fails until it
// accepts; the reorder reactor restocks a product that fell below the
// level, once, its restock caused by the order; imago.reactors shows the
// progress and the failure.
func TestShopReactorsThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	hook := &webhookReceiver{arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	args := []string{"--webhook-url", srv.URL + "/orders", "--reorder-below", "3"}
	p := start(t, dir, args...)
	client := &http.Client{Timeout: 30 * time.Second}
	must := func(id string, cmd commands.Command) uint64 {
		t.Helper()
		seq, status, err := submit(client, p.httpAddr, id, cmd)
		if err != nil || status != 200 {
			t.Fatalf("%s: %d %v", id, status, err)
		}
		return seq
	}
	must("c", &shop.RegisterCustomer{CustomerID: "c1", Name: "Ada", Email: "ada@example.com", Country: "GB"})
	must("p", &shop.AddProduct{SKU: "s1", Name: "Mug", Category: "kitchen", PriceCents: 450, Stock: 5})
	must("o1", &shop.PlaceOrder{OrderID: "o1", CustomerID: "c1", Lines: []shop.OrderItem{{SKU: "s1", Quantity: 2}}})
	low := must("o2", &shop.PlaceOrder{OrderID: "o2", CustomerID: "c1", Lines: []shop.OrderItem{{SKU: "s1", Quantity: 1}}})
	paid := must("pay", &shop.PayOrder{OrderID: "o1", AmountCents: 900})
	select {
	case <-hook.arrived: // the payment is durable and its notification on the way
	case <-time.After(20 * time.Second):
		t.Fatal("no notification arrived")
	}
	if err := p.stop(t, syscall.SIGKILL); err == nil {
		t.Fatal("imago survived SIGKILL")
	}

	hook.set(200)
	p = start(t, dir, args...)
	got := hook.waitAccepted(t, 1)
	want := shop.Notification{Event: "order_paid", OrderID: "o1", CustomerID: "c1", TotalCents: 900, Seq: paid,
		Command: "pay_order", Actor: "anonymous", Delivery: fmt.Sprintf("reactor:webhook:%d", paid)}
	got[0].Time = time.Time{}
	if got[0] != want {
		t.Fatalf("after the restart the receiver got %+v,\nwant %+v", got[0], want)
	}

	db, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/shop?parseTime=true")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stock int64
	var restocks, cause, actor string
	if err := db.QueryRow("SELECT stock FROM products WHERE sku = 's1'").Scan(&stock); err != nil || stock != 6 {
		t.Fatalf("stock %d (%v): want 2 after the orders, restocked to 6 once", stock, err)
	}
	err = db.QueryRow("SELECT COUNT(*), MAX(cause), MAX(actor) FROM imago.commands WHERE name = 'restock'").Scan(&restocks, &cause, &actor)
	if err != nil || restocks != "1" || cause != fmt.Sprint(low) || actor != "reactor:reorder" {
		t.Fatalf("restocks %s caused by %s, actor %s (%v): want one, caused by seq %d", restocks, cause, actor, err, low)
	}

	hook.set(500)
	shipped := must("ship", &shop.ShipOrder{OrderID: "o1"})
	reactors := func() map[string]string {
		t.Helper()
		rows, err := db.Query("SELECT name, commands, cursor_seq, lag_commands, failures, COALESCE(last_error, '') FROM imago.reactors ORDER BY name")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var name, cmds, lastErr string
			var cursor, lag, failures uint64
			if err := rows.Scan(&name, &cmds, &cursor, &lag, &failures, &lastErr); err != nil {
				t.Fatal(err)
			}
			out[name] = fmt.Sprintf("%s cursor=%d lag=%d failures=%d error=%s", cmds, cursor, lag, failures, lastErr)
		}
		return out
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(reactors()["webhook"], "failures=2") {
		if time.Now().After(deadline) {
			t.Fatalf("the failing receiver does not show in imago.reactors: %v", reactors())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Stuck at the shipment: everything before it dealt with (the payment,
	// and the reorder reactor's restock if it was logged after the payment).
	if r := reactors()["webhook"]; !strings.Contains(r, fmt.Sprintf("cursor=%d lag=1", shipped-1)) || !strings.Contains(r, "500 Internal Server Error") {
		t.Fatalf("webhook while the receiver fails: %s", r)
	}
	hook.set(200)
	if got := hook.waitAccepted(t, 2); got[1].Event != "order_shipped" || got[1].Seq != shipped {
		t.Fatalf("second notification %+v, want order_shipped at seq %d", got[1], shipped)
	}
	want2 := map[string]string{
		"reorder": fmt.Sprintf("place_order cursor=%d lag=0 failures=0 error=", shipped),
		"webhook": fmt.Sprintf("pay_order,ship_order cursor=%d lag=0 failures=0 error=", shipped),
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := reactors()
		if r["reorder"] == want2["reorder"] && strings.HasPrefix(r["webhook"], want2["webhook"]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("imago.reactors %v, want %v (the webhook's last error kept)", r, want2)
		}
	}
	if err := p.stop(t, syscall.SIGINT); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}
