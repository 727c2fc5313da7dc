package envelope

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// Command structs of the kinds decodeStruct fills directly, and one it
// leaves to the general codec.
type (
	sku      string
	lineItem struct {
		SKU      sku   `json:"sku"`
		Quantity int64 `json:"quantity"`
	}
	richCommand struct {
		ID      string     `json:"id"`
		Lines   []lineItem `json:"lines"`
		Tags    []string   `json:"tags,omitempty"`
		Paid    bool       `json:"paid"`
		Small   int8       `json:"small"`
		Mid     int32      `json:"mid"`
		Count   int        `json:"count"`
		Byte    uint8      `json:"byte"`
		Big     uint64     `json:"big"`
		Ratio   float64    `json:"ratio"`
		Blob    []byte     `json:"blob"`
		Deltas  []int64    `json:"deltas"`
		Inner   lineItem   `json:"inner"`
		NoTag   string
		Skipped string `json:"-"`
		hidden  string //nolint:unused // unexported: never decoded
	}
	timedCommand struct { // a time.Time field: the general codec decodes it
		ID string    `json:"id"`
		At time.Time `json:"at"`
	}
)

// decodeBothWays decodes m into a new T directly and, as before the direct
// way, through its encoding and the general codec.
func decodeBothWays[T any](t *testing.T, m map[string]any) (direct, general *T, fast bool, derr, gerr error) {
	t.Helper()
	b, err := EncodePayload(m)
	if err != nil {
		t.Fatalf("encode %#v: %v", m, err)
	}
	direct, general = new(T), new(T)
	fast = decodeStruct(m, new(T)) == nil
	derr = (&Envelope{Payload: b, PayloadMap: m}).DecodePayload(direct)
	gerr = DecodePayload(b, general)
	return direct, general, fast, derr, gerr
}

// TestDecodeStructMatchesCodec: the direct decoder gives the struct the
// general codec gives from the map's encoding, and leaves to it what it
// does not do (the error is then the codec's).
func TestDecodeStructMatchesCodec(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    map[string]any
		fast bool // filled directly
	}{
		{"an order", map[string]any{"id": "o-1", "lines": []any{map[string]any{"sku": "mug", "quantity": uint64(2)}, map[string]any{"sku": "cup", "quantity": int64(-3)}},
			"tags": []any{"a", "b"}, "paid": true, "small": int64(-128), "mid": uint64(1 << 30), "count": 7, "byte": uint64(255), "big": uint64(math.MaxUint64),
			"ratio": 0.25, "blob": []byte{1, 2}, "deltas": []any{int64(-1), uint64(5)}, "inner": map[string]any{"sku": "x"}, "NoTag": "n"}, true},
		{"unknown and skipped keys are ignored", map[string]any{"id": "o-2", "v2_marker": true, "Skipped": "s", "-": "dash", "hidden": "h"}, true},
		{"an empty list", map[string]any{"lines": []any{}, "blob": []byte{}}, true},
		{"integer extremes", map[string]any{"mid": int64(math.MinInt32), "count": int64(math.MinInt64), "small": int64(127), "byte": int64(0)}, true},
		{"int8 out of range", map[string]any{"small": int64(200)}, false},
		{"a negative uint", map[string]any{"byte": int64(-1)}, false},
		{"a uint64 beyond int64", map[string]any{"count": uint64(math.MaxUint64)}, false},
		{"a float into an int", map[string]any{"count": 2.0}, false},
		{"an int into a float", map[string]any{"ratio": int64(2)}, false},
		{"a string into an int", map[string]any{"count": "7"}, false},
		{"text into bytes", map[string]any{"blob": "AQI="}, false},
		{"null", map[string]any{"id": nil, "lines": nil}, false},
		{"a key matching without regard to case", map[string]any{"ID": "upper", "notag": "lower"}, false},
		{"a list of another type", map[string]any{"tags": []string{"a"}}, false},
		{"a NaN", map[string]any{"ratio": math.NaN()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			direct, general, fast, derr, gerr := decodeBothWays[richCommand](t, tc.m)
			if fast != tc.fast {
				t.Fatalf("filled directly: %v, want %v", fast, tc.fast)
			}
			if (derr == nil) != (gerr == nil) || derr != nil && derr.Error() != gerr.Error() {
				t.Fatalf("errors: %v, the codec's %v", derr, gerr)
			}
			if !reflect.DeepEqual(direct, general) && !hasNaN(tc.m) {
				t.Fatalf("direct  %#v\ngeneral %#v", direct, general)
			}
		})
	}
	t.Run("a type with its own unmarshaler", func(t *testing.T) {
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		direct, general, fast, derr, gerr := decodeBothWays[timedCommand](t, map[string]any{"id": "t", "at": at.Format(time.RFC3339)})
		if fast || derr != nil || gerr != nil || !direct.At.Equal(at) || !reflect.DeepEqual(direct, general) {
			t.Fatalf("fast %v: %v %v, %v %v", fast, direct, derr, general, gerr)
		}
	})
}

// FuzzDecodeStruct: whatever payload the log holds, decoding it through
// its payload map directly gives what the general codec gives from the
// map's encoding (the command an upcast entry decoded to before).
func FuzzDecodeStruct(f *testing.F) {
	for _, m := range []map[string]any{
		{"id": "o-1", "lines": []any{map[string]any{"sku": "mug", "quantity": 2}}, "small": -5, "byte": 255, "ratio": 1.5, "blob": []byte("x"), "deltas": []any{-1, 2}},
		{"ID": "x", "small": 300, "count": 1.0, "inner": map[string]any{"Quantity": 1}, "tags": []any{1}},
		{"at": "2026-01-02T03:04:05Z", "id": nil},
	} {
		b, _ := encMode.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodePayloadMap(b)
		if err != nil || hasNaN(m) {
			return
		}
		check := func(direct, general any, derr, gerr error) {
			if (derr == nil) != (gerr == nil) || derr != nil && derr.Error() != gerr.Error() {
				t.Fatalf("errors: %v, the codec's %v (% x)", derr, gerr, b)
			}
			if !reflect.DeepEqual(direct, general) {
				t.Fatalf("direct  %#v\ngeneral %#v (% x)", direct, general, b)
			}
		}
		d1, g1, _, derr, gerr := decodeBothWays[richCommand](t, m)
		check(d1, g1, derr, gerr)
		d2, g2, _, derr, gerr := decodeBothWays[timedCommand](t, m)
		check(d2, g2, derr, gerr)
	})
}
