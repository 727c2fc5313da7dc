package envelope

import (
	"bytes"
	"math"
	"reflect"
	"testing"
)

// slowMap decodes with the general codec only.
func slowMap(b []byte) (map[string]any, error) {
	var m map[string]any
	err := decMode.Unmarshal(b, &m)
	return m, err
}

// TestPayloadMapFastPath: the fast decoder and encoder give what the
// general codec gives, and leave to it what they do not handle.
func TestPayloadMapFastPath(t *testing.T) {
	type line struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	}
	type order struct {
		OrderID string  `json:"order_id"`
		Lines   []line  `json:"lines"`
		Note    *string `json:"note"`
		Paid    bool    `json:"paid"`
		Delta   int64   `json:"delta"`
		Big     uint64  `json:"big"`
		Ratio   float64 `json:"ratio"`
		Blob    []byte  `json:"blob"`
	}
	for _, tc := range []struct {
		name string
		v    any
		fast bool // decoded on the fast path
	}{
		{"an order", order{OrderID: "o-1", Lines: []line{{"mug", 2}, {"cup", 300000}}, Paid: true, Delta: -5, Big: math.MaxUint64, Ratio: 0.1, Blob: []byte{1, 2}}, true},
		{"negative extremes", map[string]any{"a": int64(math.MinInt64), "b": int64(-24), "c": int64(-25)}, true},
		{"nested maps", map[string]any{"x": map[string]any{"y": []any{map[string]any{"z": "é"}}}}, true},
		{"long keys", map[string]any{"a": 1, "bb": 2, "aaa": 3, "b": 4, string(make([]byte, 300)): 5}, true},
		{"a float32", map[string]any{"f": float32(0.1)}, true},
		{"a half float", map[string]any{"h": 0.5}, false}, // the codec writes shortest: a half float
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := encMode.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			want, err := slowMap(b)
			if err != nil {
				t.Fatal(err)
			}
			got, ferr := decodeMapFast(b)
			if (ferr == nil) != tc.fast {
				t.Fatalf("fast path taken: %v, want %v", ferr == nil, tc.fast)
			}
			if ferr == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("fast %#v\nslow %#v", got, want)
			}
			if m, err := DecodePayloadMap(b); err != nil || !reflect.DeepEqual(m, want) {
				t.Fatalf("DecodePayloadMap %#v %v", m, err)
			}
			slowBytes, err := encMode.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if fb, err := encodeMapFast(want); err == nil && !bytes.Equal(fb, slowBytes) {
				t.Fatalf("fast encoding % x\nwant          % x", fb, slowBytes)
			}
			if pb, err := EncodePayload(want); err != nil || !bytes.Equal(pb, slowBytes) {
				t.Fatalf("EncodePayload % x %v", pb, err)
			}
		})
	}
}

// FuzzPayloadMap: whatever the fast decoder accepts, the general codec
// accepts with the same values, and the fast encoder writes the same bytes.
func FuzzPayloadMap(f *testing.F) {
	for _, v := range []any{
		map[string]any{"sku": "mug", "quantity": 2, "lines": []any{map[string]any{"a": -1}}},
		map[string]any{"b": []byte("x"), "t": true, "n": nil, "f": 1.25},
	} {
		b, _ := encMode.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeMapFast(b)
		if err != nil {
			return
		}
		want, err := slowMap(b)
		if err != nil {
			t.Fatalf("fast accepted what the codec refuses (%v): % x", err, b)
		}
		if !reflect.DeepEqual(got, want) && !hasNaN(want) {
			t.Fatalf("fast %#v\nslow %#v", got, want)
		}
		if fb, err := encodeMapFast(got); err == nil {
			sb, err := encMode.Marshal(got)
			if err != nil || !bytes.Equal(fb, sb) {
				t.Fatalf("encodings differ: % x\n% x (%v)", fb, sb, err)
			}
		}
	})
}

func hasNaN(v any) bool {
	switch x := v.(type) {
	case float64:
		return x != x
	case map[string]any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	}
	return false
}
