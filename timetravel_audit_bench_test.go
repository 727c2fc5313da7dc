package imago

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/wal"
)

// BenchmarkAuditIndex is the audit trail's answer on a large log: "every
// command of customer X" and "what did actor Y do" through the audit
// index against a full scan of the log (each entry read and its payload
// field decoded: a lower bound on imago.commands' scan, which also
// renders every row), with the backfill's rate and the index's bytes on
// disk per command. The log is written straight to the store (place_order
// envelopes: 100,000 customers, 1,000 actors), IMAGO_AUDIT_COMMANDS of
// them (default 200,000; `make bench-audit`: 10,000,000).
//
//	go test -run '^$' -bench AuditIndex -benchtime 1x .
func BenchmarkAuditIndex(b *testing.B) {
	n := uint64(200_000)
	if s := os.Getenv("IMAGO_AUDIT_COMMANDS"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			b.Fatalf("IMAGO_AUDIT_COMMANDS=%q: %v", s, err)
		}
		n = v
	}
	dir := filepath.Join(b.TempDir(), "log")
	log, err := wal.Open(dir, wal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]wal.Entry, 0, 10_000)
	for seq := uint64(1); seq <= n; seq++ {
		payload, err := envelope.EncodePayload(map[string]any{"order_id": fmt.Sprintf("o-%09d", seq), "customer_id": fmt.Sprintf("c-%06d", seq*7919%100_000),
			"lines": []map[string]any{{"sku": fmt.Sprintf("sku-%05d", seq%200), "quantity": 1 + seq%3}}})
		if err != nil {
			b.Fatal(err)
		}
		env := envelope.Envelope{Name: "place_order", Version: 1, ID: strconv.FormatUint(seq, 36), Actor: fmt.Sprintf("user-%d", seq%1000),
			Time: base.Add(time.Duration(seq) * time.Millisecond), Payload: payload}
		value, err := envelope.Encode(&env)
		if err != nil {
			b.Fatal(err)
		}
		if entries = append(entries, wal.Entry{Seq: seq, Data: value}); len(entries) == cap(entries) || seq == n {
			if err := log.Append(entries, false); err != nil {
				b.Fatal(err)
			}
			entries = entries[:0]
		}
	}
	fmt.Printf("%d commands written in %.1fs\n", n, time.Since(start).Seconds())

	elog := envelope.NewLog(log)
	audit, err := newAuditIndex(log, elog, map[string][]string{"place_order": {"customer_id", "order_id"}})
	if err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	if err := audit.catchUp(n, nil); err != nil {
		b.Fatal(err)
	}
	backfill := time.Since(start)
	if err := log.Close(); err != nil { // flushed: the index is in tables
		b.Fatal(err)
	}
	if log, err = wal.Open(dir, wal.Options{}); err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	elog = envelope.NewLog(log)
	indexBytes, err := log.IndexBytes()
	if err != nil {
		b.Fatal(err)
	}

	// lookup reads the entries the index names, as imago.commands does.
	lookup := func(name, value string) (int, error) {
		found := 0
		err := log.IndexLookup(name, value, 1, n, func(seq uint64) error {
			return elog.Read(seq, seq, func(envelope.Envelope) error { found++; return nil })
		})
		return found, err
	}
	// scan reads every entry and decodes the field.
	scan := func(name, value string) (int, error) {
		found := 0
		err := elog.Read(1, n, func(env envelope.Envelope) error {
			v := env.Actor
			if name != AuditActor {
				vs, err := envelope.PayloadFields(env.Payload, []string{name})
				if err != nil {
					return err
				}
				v = vs[0]
			}
			if v == value {
				found++
			}
			return nil
		})
		return found, err
	}
	for _, q := range []struct{ name, value string }{{"customer_id", "c-012345"}, {AuditActor, "user-42"}} {
		b.Run(q.name, func(b *testing.B) {
			var indexed, scanned time.Duration
			for b.Loop() {
				t0 := time.Now()
				a, err := lookup(q.name, q.value)
				ti := time.Since(t0)
				t0 = time.Now()
				s, err2 := scan(q.name, q.value)
				ts := time.Since(t0)
				indexed, scanned = indexed+ti, scanned+ts
				if err != nil || err2 != nil || a != s || a == 0 {
					b.Fatalf("%s = %s: %d through the index (%v), %d by scan (%v)", q.name, q.value, a, err, s, err2)
				}
				fmt.Printf("%s = %s on %d commands: %d found; indexed %v, full scan %v (%.0fx)\n", q.name, q.value, n, a, ti, ts, float64(ts)/float64(ti))
			}
			k := float64(b.N)
			b.ReportMetric(float64(indexed.Microseconds())/1e3/k, "indexed-ms")
			b.ReportMetric(float64(scanned.Microseconds())/1e3/k, "scan-ms")
			b.ReportMetric(float64(scanned)/float64(indexed), "scan/indexed")
		})
	}
	t0 := time.Now()
	if _, err := elog.LastAt(base.Add(time.Duration(n/2)*time.Millisecond), n); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("a time resolved to its seq in %v; backfill %.0f commands/s; index %.1f bytes on disk per command (%d MB)\n",
		time.Since(t0), float64(n)/backfill.Seconds(), float64(indexBytes)/float64(n), indexBytes>>20)
}
