package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gosql "database/sql"

	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
)

// startReplica runs imago replica of primary on dir with free ports.
func startReplica(t *testing.T, primary *proc, dir string, args ...string) *proc {
	t.Helper()
	cmd := append([]string{"--primary", "http://" + primary.httpAddr}, args...)
	return startCommand(t, binary, "replica", dir, cmd...)
}

// writeLoad submits workload commands from n writers to p until stop is
// closed (or p is gone), and returns a wait for the writers that answers
// the acknowledged commands.
func writeLoad(p *proc, n int, name string, stop <-chan struct{}) func() []ack {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []ack
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range n {
		wg.Go(func() {
			g := workload.New(fmt.Sprintf("%s-%d", name, w), uint64(w+1), 50, 30)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id, cmd := fmt.Sprintf("%s-%d-%d", name, w, i), g.Next()
				seq, status, err := submit(client, p.httpAddr, id, cmd)
				if err != nil {
					return
				}
				if status == 200 {
					mu.Lock()
					acked = append(acked, ack{seq: seq, id: id, cmd: cmd})
					mu.Unlock()
				}
			}
		})
	}
	return func() []ack { wg.Wait(); return acked }
}

// waitApplied waits until the replica's imago.status says it applied seq.
func waitApplied(t *testing.T, r *proc, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, _ := strconv.ParseUint(statusValue(t, r.sqlAddr, "applied_seq"), 10, 64)
		if got >= seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica applied %d, not %d, within a minute:\n%s", got, seq, r.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicaFollowsPrimary: a replica bootstraps from the primary's
// checkpoint, follows concurrent writes, survives its own SIGKILL and a
// restart of the primary, refuses writes naming the primary, and ends
// with the primary's image (hash of a replay of each one's log).
func TestReplicaFollowsPrimary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end replica test")
	}
	pdir, rdir := t.TempDir(), t.TempDir()+"/replica"
	p := start(t, pdir)
	setupShop(t, p)
	stop := make(chan struct{})
	done := writeLoad(p, 8, "a", stop)
	waitPrimaryPast(t, p, p.seqNow(t)+100)
	r := startReplica(t, p, rdir)
	if got := statusValue(t, r.sqlAddr, "recovered_from_checkpoint_seq"); got == "0" {
		t.Errorf("the replica did not bootstrap from the primary's checkpoint")
	}
	applying := p.seqNow(t) + 100
	waitFor(t, "the replica to apply the load", func() bool { return appliedSeq(t, r) >= applying })
	r.stop(t, syscall.SIGKILL) // mid-stream
	waitPrimaryPast(t, p, p.seqNow(t)+100)
	r = startReplica(t, p, rdir)
	close(stop)
	acked := done()
	seq := p.seqNow(t)
	waitApplied(t, r, seq)
	t.Logf("%d commands acknowledged by the primary; the replica applied all %d seqs", len(acked), seq)

	// The primary's slots: the replica, streaming, was sent everything and
	// acknowledges it with its next heartbeat (every second).
	pdb, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/imago")
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var name, state string
		var sent, acked, lag uint64
		var lagMs int64
		err := pdb.QueryRow("SELECT name, state, sent_seq, acked_seq, lag_commands, lag_ms FROM replicas").Scan(&name, &state, &sent, &acked, &lag, &lagMs)
		if err == nil && state == "streaming" && sent == seq && acked == seq && lag == 0 && lagMs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("imago.replicas on the primary: %q %q sent %d acked %d lag %d (%d ms) %v; want the replica streaming, sent and acked %d, no lag",
				name, state, sent, acked, lag, lagMs, err, seq)
		}
	}

	// Read your writes: a write on the primary, awaited on the replica.
	client := &http.Client{Timeout: 10 * time.Second}
	w, status, err := submit(client, p.httpAddr, "ryw", &shop.Restock{SKU: workload.SKU(1), Quantity: 7})
	if err != nil || status != 200 {
		t.Fatalf("restock: %d %v", status, err)
	}
	rdb, err := gosql.Open("mysql", "root@tcp("+r.sqlAddr+")/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	rdb.SetMaxOpenConns(1) // the wait and the read on one connection
	var waited int
	if err := rdb.QueryRow("SELECT imago_wait_for_seq(?, 30)", w).Scan(&waited); err != nil || waited != 0 {
		t.Fatalf("imago_wait_for_seq(%d) on the replica: %d %v", w, waited, err)
	}
	var applied uint64
	if err := rdb.QueryRow("SELECT CAST(value AS UNSIGNED) FROM imago.status WHERE name = 'applied_seq'").Scan(&applied); err != nil || applied < w {
		t.Fatalf("after the wait the replica reads seq %d (%v), want at least %d", applied, err, w)
	}

	// Writes are for the primary.
	resp, err := http.Post("http://"+r.httpAddr+"/v1/commands/restock", "application/json", strings.NewReader(`{"sku":"sku-00001","quantity":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), p.httpAddr) {
		t.Errorf("a write to the replica: %d %s; want 503 naming the primary", resp.StatusCode, body)
	}

	// The primary restarts; the replica reconnects and loses nothing.
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p = start(t, pdir, "--http-addr", p.httpAddr) // the address the replica follows
	writeLoadUntil(t, p, 4, "b", 200)
	seq = p.seqNow(t)
	waitApplied(t, r, seq)
	for _, q := range []*proc{p, r} {
		if err := q.stop(t, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	if hp, hr := imageHash(t, pdir), imageHash(t, rdir); hp != hr {
		t.Fatalf("image hashes differ at seq %d: primary %s, replica %s", seq, hp, hr)
	}
}

// TestAnalyticsReplica: a replica of another projection (shop_analytics)
// builds its image from the primary's whole log, ignoring the primary's
// checkpoints, and its figures agree with the shop's own tables.
func TestAnalyticsReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end replica test")
	}
	p := start(t, t.TempDir())
	setupShop(t, p)
	stop := make(chan struct{})
	done := writeLoad(p, 4, "x", stop)
	r := startReplica(t, p, t.TempDir()+"/analytics", "--app", "shop_analytics")
	waitPrimaryPast(t, p, p.seqNow(t)+300)
	close(stop)
	done()
	seq := p.seqNow(t)
	waitApplied(t, r, seq)
	if got := statusValue(t, r.sqlAddr, "recovered_from_checkpoint_seq"); got != "0" {
		t.Errorf("the analytics replica loaded a checkpoint (seq %s) of another projection", got)
	}
	query := func(addr, db, q string) string {
		t.Helper()
		conn, err := gosql.Open("mysql", "root@tcp("+addr+")/"+db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var v gosql.NullString
		if err := conn.QueryRow(q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v.String
	}
	for _, c := range []struct{ shop, analytics string }{
		{"SELECT SUM(l.quantity * l.price_cents) FROM order_lines l JOIN orders o ON o.order_id = l.order_id WHERE o.status <> 'cancelled'",
			"SELECT SUM(revenue_cents) FROM sales_by_day"},
		{"SELECT COUNT(*) FROM orders", "SELECT SUM(orders) FROM customer_value"},
		{"SELECT SUM(total_cents) FROM orders WHERE paid_at IS NOT NULL", "SELECT SUM(paid_cents) FROM customer_value"},
		{"SELECT COUNT(DISTINCT customer_id) FROM orders", "SELECT COUNT(*) FROM customer_value"},
	} {
		want, got := query(p.sqlAddr, "shop", c.shop), query(r.sqlAddr, "shop_analytics", c.analytics)
		if want != got || want == "" {
			t.Errorf("%s = %s on the shop, %s = %s on the analytics replica", c.shop, want, c.analytics, got)
		}
	}
	t.Logf("the analytics replica built seqs 1..%d from the primary's log", seq)
}
