package envelope

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// The generic payload map is what upcasters work on: a v1 entry's payload
// is decoded into it, changed, and encoded again before the command's
// decoder reads it. fxamacker/cbor's generic path (reflection over
// map[string]any) made that step about 6x the cost of reading the entry
// (BenchmarkReplayUpcast, read-chain2 against read-none). The payloads
// the log holds use a small part of CBOR (text-keyed maps, arrays, text,
// bytes, integers, floats, booleans, null), so a direct decoder and encoder
// of that part do the common case, and any other input (tags, half
// floats, duplicate keys, indefinite lengths, invalid UTF-8, other Go
// types from an upcaster) goes through the general codec, which decides
// and words the error: both paths give the same values and bytes
// (TestPayloadMapFastPath, FuzzPayloadMap).

// errSlowPath sends a payload to the general codec.
var errSlowPath = errors.New("not on the fast path")

// Limits of decMode, repeated for the fast path (beyond them: slow path).
const (
	fastMaxDepth = 32
	fastMaxItems = 1 << 20
)

// decodeMapFast decodes a CBOR map of text keys into map[string]any.
func decodeMapFast(b []byte) (map[string]any, error) {
	// One copy of the payload as a string backs every key and text value
	// (substrings of it): a string allocation per key and value was about
	// half the map's allocations (BenchmarkReplayUpcast).
	d := fastDecoder{b: b, s: string(b)}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok || d.off != len(d.b) {
		return nil, errSlowPath
	}
	return m, nil
}

type fastDecoder struct {
	b   []byte
	s   string // b, as a string
	off int
}

// head reads an item's major type and argument (definite lengths only).
func (d *fastDecoder) head() (major byte, arg uint64, info byte, err error) {
	if d.off >= len(d.b) {
		return 0, 0, 0, errSlowPath
	}
	c := d.b[d.off]
	d.off++
	major, info = c>>5, c&0x1f
	switch {
	case info < 24:
		return major, uint64(info), info, nil
	case info == 24 && d.off+1 <= len(d.b):
		arg = uint64(d.b[d.off])
		d.off++
	case info == 25 && d.off+2 <= len(d.b):
		arg = uint64(binary.BigEndian.Uint16(d.b[d.off:]))
		d.off += 2
	case info == 26 && d.off+4 <= len(d.b):
		arg = uint64(binary.BigEndian.Uint32(d.b[d.off:]))
		d.off += 4
	case info == 27 && d.off+8 <= len(d.b):
		arg = binary.BigEndian.Uint64(d.b[d.off:])
		d.off += 8
	default:
		return 0, 0, 0, errSlowPath
	}
	return major, arg, info, nil
}

func (d *fastDecoder) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.off) {
		return nil, errSlowPath
	}
	s := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return s, nil
}

// text reads a text string of n bytes, valid UTF-8.
func (d *fastDecoder) text(n uint64) (string, error) {
	if n > uint64(len(d.b)-d.off) {
		return "", errSlowPath
	}
	s := d.s[d.off : d.off+int(n)]
	if !utf8.ValidString(s) {
		return "", errSlowPath
	}
	d.off += int(n)
	return s, nil
}

func (d *fastDecoder) value(depth int) (any, error) {
	major, arg, info, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case 0:
		return arg, nil
	case 1:
		if arg > math.MaxInt64 {
			return nil, errSlowPath
		}
		return -1 - int64(arg), nil
	case 2:
		s, err := d.bytes(arg)
		return slices.Clone(s), err
	case 3:
		return d.text(arg)
	case 4:
		if depth >= fastMaxDepth || arg > fastMaxItems {
			return nil, errSlowPath
		}
		a := make([]any, arg)
		for i := range a {
			if a[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return a, nil
	case 5:
		if depth >= fastMaxDepth || arg > fastMaxItems {
			return nil, errSlowPath
		}
		m := make(map[string]any, arg)
		for range arg {
			km, kn, _, err := d.head()
			if err != nil || km != 3 {
				return nil, errSlowPath
			}
			key, err := d.text(kn)
			if err != nil {
				return nil, errSlowPath
			}
			if _, dup := m[key]; dup {
				return nil, errSlowPath
			}
			if m[key], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case 7:
		switch {
		case info == 20:
			return false, nil
		case info == 21:
			return true, nil
		case info == 22:
			return nil, nil
		case info == 26:
			return float64(math.Float32frombits(uint32(arg))), nil
		case info == 27:
			return math.Float64frombits(arg), nil
		}
	}
	return nil, errSlowPath // tags, undefined, half floats, simple values
}

// encodeMapFast encodes m as the core deterministic encoding does (keys
// sorted by their encoded bytes, shortest forms), or errSlowPath for a
// value of another type than the decoder gives.
func encodeMapFast(m map[string]any) ([]byte, error) {
	return appendFast(make([]byte, 0, 128), m, 0)
}

func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

func appendFast(b []byte, v any, depth int) ([]byte, error) {
	if depth > fastMaxDepth {
		return nil, errSlowPath
	}
	switch x := v.(type) {
	case nil:
		return append(b, 0xf6), nil
	case bool:
		if x {
			return append(b, 0xf5), nil
		}
		return append(b, 0xf4), nil
	case string:
		return append(appendHead(b, 3, uint64(len(x))), x...), nil
	case []byte:
		return append(appendHead(b, 2, uint64(len(x))), x...), nil
	case uint64:
		return appendHead(b, 0, x), nil
	case int64:
		if x >= 0 {
			return appendHead(b, 0, uint64(x)), nil
		}
		return appendHead(b, 1, uint64(-1-x)), nil
	case int:
		return appendFast(b, int64(x), depth)
	case []any:
		b = appendHead(b, 4, uint64(len(x)))
		var err error
		for _, e := range x {
			if b, err = appendFast(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		// Bytewise order of the encoded keys: the head holds the length,
		// so a shorter key comes first, then the bytes decide.
		slices.SortFunc(keys, func(a, b string) int {
			if len(a) != len(b) {
				return len(a) - len(b)
			}
			return strings.Compare(a, b)
		})
		b = appendHead(b, 5, uint64(len(x)))
		var err error
		for _, k := range keys {
			b = append(appendHead(b, 3, uint64(len(k))), k...)
			if b, err = appendFast(b, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, errSlowPath // floats (shortest form rules), other Go types
}
