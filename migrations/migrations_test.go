package migrations_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/migrations"
)

// order is the current place_order (v3): quantity and a price in cents.
type order struct {
	Product  string `json:"product"`
	Quantity int64  `json:"quantity"`
	Cents    int64  `json:"cents"`
}

func (*order) Validate() error                                   { return nil }
func (*order) Apply(*memdb.Txn, *envelope.Envelope) (any, error) { return nil, nil }

func registry(t testing.TB) *commands.Registry {
	r, err := commands.NewRegistry(commands.Define[order]("place_order", 3))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ups: v1 {item, qty} → v2 {product, quantity} → v3 adds cents from price
// (a float of euros); buy (v1) was renamed place_order v1; audit retired.
func ups() []migrations.Upcaster {
	return []migrations.Upcaster{
		migrations.Up("place_order", 1, func(p map[string]any) error {
			p["product"], p["quantity"] = p["item"], p["qty"]
			delete(p, "item")
			delete(p, "qty")
			return nil
		}),
		migrations.Up("place_order", 2, func(p map[string]any) error {
			p["cents"] = int64(0)
			return nil
		}),
		migrations.Rename("buy", 1, "place_order"),
		migrations.Retire("audit", 0, "audits moved to the reactor's own store"),
	}
}

func env(t testing.TB, name string, version uint32, payload any) envelope.Envelope {
	b, err := envelope.EncodePayload(payload)
	if err != nil {
		t.Fatal(err)
	}
	return envelope.Envelope{Seq: 1, Name: name, Version: version, Time: time.Unix(1, 0).UTC(), Payload: b}
}

func TestChain(t *testing.T) {
	c, err := migrations.NewChain(registry(t), ups())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		version uint32
		payload any
	}{
		{"place_order", 1, map[string]any{"item": "tea", "qty": 2}},
		{"buy", 1, map[string]any{"item": "tea", "qty": 2}},
		{"place_order", 2, map[string]any{"product": "tea", "quantity": 2}},
		{"place_order", 3, map[string]any{"product": "tea", "quantity": 2, "cents": 0}},
	} {
		e := env(t, tc.name, tc.version, tc.payload)
		if keep, err := c.Upcast(&e); err != nil || !keep {
			t.Fatalf("%s v%d: %v %v", tc.name, tc.version, keep, err)
		}
		var o order
		if err := envelope.DecodePayload(e.Payload, &o); err != nil || e.Name != "place_order" || e.Version != 3 || o != (order{"tea", 2, 0}) {
			t.Fatalf("%s v%d: %s v%d %+v %v", tc.name, tc.version, e.Name, e.Version, o, err)
		}
	}
	e := env(t, "audit", 7, map[string]any{"x": 1})
	if keep, err := c.Upcast(&e); err != nil || keep || !strings.Contains(e.Retired, "reactor") {
		t.Fatalf("retired: %v %v %q", keep, err, e.Retired)
	}
	// Check: a path or the missing upcaster.
	for _, ok := range []struct {
		name string
		v    uint32
	}{{"place_order", 1}, {"buy", 1}, {"audit", 3}, {"place_order", 3}} {
		if err := c.Check(5, ok.name, ok.v); err != nil {
			t.Errorf("%s v%d: %v", ok.name, ok.v, err)
		}
	}
	err = c.Check(9, "buy", 2)
	var missing *migrations.MissingUpcasterError
	if !errors.As(err, &missing) || missing.Seq != 9 || !strings.Contains(err.Error(), "log entry 9 is buy v2") {
		t.Fatalf("buy v2: %v", err)
	}
	t.Log(err)
	err = c.Check(4, "place_order", 0)
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), `migrations.Up("place_order", 0`) {
		t.Fatalf("place_order v0: %v", err)
	}
	t.Log(err)
}

func TestNewChainRefuses(t *testing.T) {
	noop := func(map[string]any) error { return nil }
	for _, tc := range []struct {
		ups  []migrations.Upcaster
		want string
	}{
		{[]migrations.Upcaster{migrations.Up("place_order", 1, noop), migrations.Up("place_order", 1, noop)}, "two upcasters of place_order v1"},
		{[]migrations.Upcaster{migrations.Up("place_order", 3, noop)}, "upcasters read older versions"},
		{[]migrations.Upcaster{{Command: "place_order", Version: 1, ToVersion: 4}}, "is at version 3"},
		{[]migrations.Upcaster{migrations.Rename("a", 1, "b"), migrations.Rename("b", 1, "a")}, "cycle"},
		{[]migrations.Upcaster{{Command: "x", Retired: "gone", Func: noop}}, "maps to nothing"},
	} {
		if _, err := migrations.NewChain(registry(t), tc.ups); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.ups, err, tc.want)
		}
	}
}

// values is a log of encoded envelopes in memory.
type values [][]byte

func (v values) FirstSeq() uint64 { return 1 }
func (v values) ReadValues(from, to uint64, fn func(uint64, []byte) error) error {
	for s := from; s <= to && s <= uint64(len(v)); s++ {
		if err := fn(s, v[s-1]); err != nil {
			return err
		}
	}
	return nil
}

// TestLogUpcasts: the one decode step upcasts, skips retired entries in
// Read, shows them in ReadAll, and keeps the stored form.
func TestLogUpcasts(t *testing.T) {
	c, err := migrations.NewChain(registry(t), ups())
	if err != nil {
		t.Fatal(err)
	}
	var vs values
	for _, e := range []envelope.Envelope{
		env(t, "place_order", 1, map[string]any{"item": "tea", "qty": 2}),
		env(t, "audit", 1, map[string]any{}),
		env(t, "place_order", 3, map[string]any{"product": "tea", "quantity": 1, "cents": 5}),
	} {
		b, err := envelope.Encode(&e)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, b)
	}
	log := envelope.NewLog(vs).WithUpcaster(c)
	var seqs []uint64
	err = log.Read(1, 3, func(e envelope.Envelope) error {
		seqs = append(seqs, e.Seq)
		if e.Name != "place_order" || e.Version != 3 {
			t.Errorf("seq %d: %s v%d", e.Seq, e.Name, e.Version)
		}
		if (e.Stored != nil) != (e.Seq == 1) {
			t.Errorf("seq %d: stored %+v", e.Seq, e.Stored)
		}
		return nil
	})
	if err != nil || len(seqs) != 2 || seqs[1] != 3 {
		t.Fatalf("read: %v %v", seqs, err)
	}
	it := log.Iter(1, 3)
	defer it.Close()
	n := 0
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if n++; e.Seq == 2 && (e.Retired == "" || e.Stored == nil || e.Stored.Name != "audit") {
			t.Errorf("retired entry: %+v", e)
		}
	}
	if n != 3 || it.Err() != nil {
		t.Fatalf("iter: %d %v", n, it.Err())
	}
	if err := log.Stored().Read(1, 1, func(e envelope.Envelope) error {
		if e.Version != 1 || e.Stored != nil {
			t.Errorf("stored: %+v", e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
