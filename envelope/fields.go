package envelope

import (
	"fmt"
	"strconv"

	"github.com/fxamacker/cbor/v2"
)

// PayloadFields are the values of a payload's top-level fields names as
// text (a string as it is, a number or a boolean as JSON writes it), ""
// for a field that is absent or not a scalar: what the audit index keys
// an entry by and imago.commands shows in the declared fields' columns.
func PayloadFields(payload []byte, names []string) ([]string, error) {
	// The top level only: the other fields (an order's lines) stay
	// undecoded, as the audit index's backfill reads every entry.
	var m map[string]cbor.RawMessage
	if err := DecodePayload(payload, &m); err != nil {
		return nil, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		raw, ok := m[n]
		if !ok {
			continue
		}
		var v any
		if err := decMode.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("envelope: decode payload field %s: %w", n, err)
		}
		out[i] = scalarText(v)
	}
	return out, nil
}

func scalarText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case uint64:
		return strconv.FormatUint(v, 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}
