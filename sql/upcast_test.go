package sql_test

import (
	"encoding/json"
	"testing"

	"github.com/imagodb/imago/envelope"
	imagosql "github.com/imagodb/imago/sql"
)

// bumpRestock upcasts restock v1 to v2 (a field added) and retires
// ship_order.
type bumpRestock struct{}

func (bumpRestock) Upcast(env *envelope.Envelope) (bool, error) {
	switch env.Name {
	case "ship_order":
		env.Retired = "shipping moved out"
		return false, nil
	case "restock":
		m, err := envelope.DecodePayloadMap(env.Payload)
		if err != nil {
			return false, err
		}
		m["warehouse"] = "main"
		env.Version = 2
		env.Payload, err = envelope.EncodePayload(m)
		return true, err
	}
	return true, nil
}

// TestCommandsUpcastColumn: imago.commands shows every entry as stored,
// and what the upcasters make of it in its upcast column.
func TestCommandsUpcastColumn(t *testing.T) {
	f := newFixture(t, func(c *imagosql.Config) { c.Log = c.Log.(*envelope.Log).WithUpcaster(bumpRestock{}) })
	var version uint32
	var payload, upcast string
	if err := f.conn.QueryRow("SELECT version, payload, upcast FROM imago.commands WHERE name = 'restock' ORDER BY seq LIMIT 1").Scan(&version, &payload, &upcast); err != nil {
		t.Fatal(err)
	}
	var up struct {
		Name    string
		Version uint32
		Payload map[string]any
	}
	if err := json.Unmarshal([]byte(upcast), &up); err != nil || version != 1 || up.Version != 2 || up.Name != "restock" || up.Payload["warehouse"] != "main" {
		t.Fatalf("stored v%d %s, upcast %s (%v)", version, payload, upcast, err)
	}
	if n := f.scalar(t, "SELECT COUNT(*) FROM imago.commands WHERE name = 'ship_order' AND upcast->>'$.retired' = 'shipping moved out'"); n == "0" {
		t.Fatal("no retired ship_order row")
	}
	if n := f.scalar(t, "SELECT COUNT(*) FROM imago.commands WHERE name = 'pay_order' AND upcast IS NOT NULL"); n != "0" {
		t.Fatalf("%s pay_order rows upcast", n)
	}
	if n, want := f.scalar(t, "SELECT COUNT(*) FROM imago.commands"), f.scalar(t, "SELECT MAX(seq) FROM imago.commands"); n != want {
		t.Fatalf("%s rows, last seq %s: retired entries are rows too", n, want)
	}
}
