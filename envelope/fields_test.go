package envelope

import (
	"slices"
	"testing"
)

// TestPayloadFields: scalars as text, anything else and absent fields "".
func TestPayloadFields(t *testing.T) {
	payload, err := EncodePayload(map[string]any{"customer_id": "c-1", "n": int64(-3), "u": uint64(7), "ok": true, "f": 1.5,
		"lines": []map[string]any{{"sku": "x"}}, "nested": map[string]any{"a": 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		names, want []string
	}{
		{[]string{"customer_id"}, []string{"c-1"}},
		{[]string{"n", "u", "ok", "f"}, []string{"-3", "7", "true", "1.5"}},
		{[]string{"lines", "nested", "absent"}, []string{"", "", ""}},
	} {
		t.Run(c.names[0], func(t *testing.T) {
			got, err := PayloadFields(payload, c.names)
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("%v: %q, %v; want %q", c.names, got, err, c.want)
			}
		})
	}
	if _, err := PayloadFields([]byte{0xff}, []string{"a"}); err == nil {
		t.Fatal("a payload that is not CBOR: no error")
	}
}
