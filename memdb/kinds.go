package memdb

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// kind is everything memdb knows of a column kind. Adding a kind is a row
// of kinds (and its GMS type in package sql, whose test names a kind
// without one), plus its tests: the schema, the typed facade, index keys,
// hashes and the checkpoints' value encoding all read this table.
type kind struct {
	name  string       // its SQL name
	sized bool         // declared with a length: NAME(n), 1..65535
	value reflect.Type // the Go type of its values in rows
	field reflect.Type // the field type in a Typed struct; nil: value
	// check refuses a value of the right Go type that does not fit t; nil:
	// every value fits.
	check func(t Type, v any) error
	// key appends the order-preserving encoding of v (of type value); nil:
	// the kind cannot be part of an index key.
	key func(dst []byte, v any) []byte
	// hash appends an encoding that identifies v; nil: key.
	hash func(dst []byte, v any) []byte
	// encode appends v's compact binary form (checkpoints); decode reads
	// it back from r.
	encode func(dst []byte, v any) ([]byte, error)
	decode func(r *ValueReader) (any, error)
}

var (
	int64Type   = reflect.TypeFor[int64]()
	stringType  = reflect.TypeFor[string]()
	bytesType   = reflect.TypeFor[[]byte]()
	decimalType = reflect.TypeFor[decimal.Decimal]()
	timeType    = reflect.TypeFor[time.Time]()
)

var kinds = [...]kind{
	KindBigInt: {name: "BIGINT", value: int64Type,
		key:    func(dst []byte, v any) []byte { return appendSigned(dst, v.(int64)) },
		encode: func(dst []byte, v any) ([]byte, error) { return binary.AppendVarint(dst, v.(int64)), nil },
		decode: func(r *ValueReader) (any, error) { return r.varint() }},
	KindBigIntUnsigned: {name: "BIGINT UNSIGNED", value: reflect.TypeFor[uint64](),
		key:    func(dst []byte, v any) []byte { return binary.BigEndian.AppendUint64(dst, v.(uint64)) },
		encode: func(dst []byte, v any) ([]byte, error) { return binary.AppendUvarint(dst, v.(uint64)), nil },
		decode: func(r *ValueReader) (any, error) { return r.uvarint() }},
	KindInt: {name: "INT", value: reflect.TypeFor[int32](),
		key:    func(dst []byte, v any) []byte { return appendSigned(dst, int64(v.(int32))) },
		encode: func(dst []byte, v any) ([]byte, error) { return binary.AppendVarint(dst, int64(v.(int32))), nil },
		decode: decodeInt32},
	KindDouble: {name: "DOUBLE", value: reflect.TypeFor[float64](),
		key: appendDoubleKey,
		encode: func(dst []byte, v any) ([]byte, error) {
			return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.(float64))), nil
		},
		decode: decodeDouble},
	KindDecimal: {name: "DECIMAL", value: decimalType, check: checkDecimal,
		hash:   func(dst []byte, v any) []byte { return appendEscaped(dst, v.(decimal.Decimal).String()) },
		encode: encodeDecimal, decode: decodeDecimal},
	KindVarchar: textKind("VARCHAR", true),
	KindChar:    textKind("CHAR", true),
	KindText:    textKind("TEXT", false),
	KindJSON: {name: "JSON", value: stringType, check: checkJSON,
		hash:   func(dst []byte, v any) []byte { return appendEscaped(dst, v.(string)) },
		encode: encodeBytes, decode: decodeText},
	KindVarbinary: binaryKind("VARBINARY", true),
	KindBlob:      binaryKind("BLOB", false),
	KindBoolean: {name: "BOOLEAN", value: reflect.TypeFor[int8](), field: reflect.TypeFor[bool](), check: checkBoolean,
		key:    func(dst []byte, v any) []byte { return append(dst, byte(v.(int8))^0x80) },
		encode: func(dst []byte, v any) ([]byte, error) { return append(dst, byte(v.(int8))), nil },
		decode: decodeBoolean},
	KindDatetime: {name: "DATETIME(6)", value: timeType, check: checkUTC,
		key: func(dst []byte, v any) []byte { return appendSigned(dst, v.(time.Time).UnixNano()) },
		encode: func(dst []byte, v any) ([]byte, error) {
			t := v.(time.Time)
			return binary.AppendUvarint(binary.AppendVarint(dst, t.Unix()), uint64(t.Nanosecond())), nil
		},
		decode: decodeDatetime},
}

// info is k's row of kinds, or nil for a kind that does not exist.
func (k Kind) info() *kind {
	if int(k) >= len(kinds) || kinds[k].value == nil {
		return nil
	}
	return &kinds[k]
}

// Kinds lists every column kind.
func Kinds() []Kind {
	var out []Kind
	for k := range kinds {
		if Kind(k).info() != nil {
			out = append(out, Kind(k))
		}
	}
	return out
}

func textKind(name string, sized bool) kind {
	return kind{name: name, sized: sized, value: stringType, check: checkText,
		key:    func(dst []byte, v any) []byte { return appendEscaped(dst, v.(string)) },
		encode: encodeBytes, decode: decodeText}
}

func binaryKind(name string, sized bool) kind {
	return kind{name: name, sized: sized, value: bytesType, check: checkBinary,
		key:    func(dst []byte, v any) []byte { return appendEscaped(dst, v.([]byte)) },
		encode: encodeBytes, decode: decodeBinary}
}

// Value checks: the Go type is checked before (see checkValue).

func checkDecimal(t Type, v any) error {
	if d := v.(decimal.Decimal); digitsBeforePoint(d) > t.Precision-t.Scale {
		return fmt.Errorf("value %s does not fit %s", d, t)
	}
	return nil
}

func checkText(t Type, v any) error {
	s := v.(string)
	if !utf8.ValidString(s) {
		return errors.New("value is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); t.Length > 0 && n > t.Length {
		return fmt.Errorf("value of %d characters is longer than %s", n, t)
	}
	return nil
}

func checkJSON(t Type, v any) error {
	if err := checkText(t, v); err != nil {
		return err
	}
	if !json.Valid([]byte(v.(string))) {
		return errors.New("value is not a JSON text")
	}
	return nil
}

func checkBinary(t Type, v any) error {
	if b := v.([]byte); t.Length > 0 && len(b) > t.Length {
		return fmt.Errorf("value of %d bytes is longer than %s", len(b), t)
	}
	return nil
}

func checkBoolean(_ Type, v any) error {
	if b := v.(int8); b != 0 && b != 1 {
		return fmt.Errorf("boolean value %d is not 0 or 1", b)
	}
	return nil
}

func checkUTC(_ Type, v any) error {
	if tm := v.(time.Time); tm.Location() != time.UTC {
		return fmt.Errorf("time %s is not in UTC", tm)
	}
	return nil
}

func digitsBeforePoint(d decimal.Decimal) int {
	s := d.Abs().Truncate(0).String()
	if s == "0" {
		return 0
	}
	return len(s)
}

// Key encodings (see keys.go for the format).

// appendSigned flips the sign bit, so that negative numbers sort first.
func appendSigned(dst []byte, x int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(x)^(1<<63))
}

func appendDoubleKey(dst []byte, v any) []byte {
	x := v.(float64)
	bits := math.Float64bits(x)
	if x == 0 {
		bits = 0 // -0 and +0 are equal in SQL
	}
	if bits&(1<<63) != 0 {
		bits = ^bits
	} else {
		bits |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, bits)
}

// The binary value encoding: integers as varints, doubles as 8 bytes little
// endian, strings and bytes with a uvarint length, booleans as a byte,
// datetimes as varint Unix seconds and uvarint nanoseconds (UTC), decimals
// as their exact binary form (shopspring MarshalBinary) with a length.

// maxDecimalDigits is MySQL's largest DECIMAL precision.
const maxDecimalDigits = 65

// ErrShort is a value that ends before its last byte.
var ErrShort = errors.New("the value ends early")

// AppendValue appends the binary form of v, a non-NULL value of kind k.
func AppendValue(dst []byte, k Kind, v any) ([]byte, error) {
	info := k.info()
	if info == nil || reflect.TypeOf(v) != info.value {
		return nil, fmt.Errorf("memdb: value %v has Go type %T, not that of %s", v, v, k)
	}
	return info.encode(dst, v)
}

// ValueReader reads values of the binary form (AppendValue) from a buffer.
// It never panics on outside bytes and bounds what a value may expand to.
type ValueReader struct{ buf []byte }

// NewValueReader reads values from b.
func NewValueReader(b []byte) *ValueReader { return &ValueReader{buf: b} }

// Len is the number of bytes not read yet.
func (r *ValueReader) Len() int { return len(r.buf) }

// Byte reads one byte.
func (r *ValueReader) Byte() (byte, error) {
	if len(r.buf) == 0 {
		return 0, ErrShort
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b, nil
}

// Value reads a value of kind k.
func (r *ValueReader) Value(k Kind) (any, error) {
	info := k.info()
	if info == nil {
		return nil, fmt.Errorf("memdb: no decoding for kind %d", k)
	}
	return info.decode(r)
}

func (r *ValueReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		return 0, ErrShort
	}
	r.buf = r.buf[n:]
	return v, nil
}

func (r *ValueReader) varint() (int64, error) {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		return 0, ErrShort
	}
	r.buf = r.buf[n:]
	return v, nil
}

func (r *ValueReader) bytes() ([]byte, error) {
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.buf)) {
		return nil, ErrShort
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b, nil
}

func encodeBytes(dst []byte, v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return append(binary.AppendUvarint(dst, uint64(len(s))), s...), nil
	}
	b := v.([]byte)
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...), nil
}

func decodeText(r *ValueReader) (any, error) {
	b, err := r.bytes()
	if err == nil && !utf8.Valid(b) {
		err = errors.New("text is not UTF-8")
	}
	return string(b), err
}

func decodeBinary(r *ValueReader) (any, error) {
	b, err := r.bytes()
	return append([]byte{}, b...), err
}

func decodeInt32(r *ValueReader) (any, error) {
	v, err := r.varint()
	if err == nil && (v < math.MinInt32 || v > math.MaxInt32) {
		err = fmt.Errorf("INT value %d out of range", v)
	}
	return int32(v), err
}

func decodeDouble(r *ValueReader) (any, error) {
	if len(r.buf) < 8 {
		return nil, ErrShort
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.buf))
	r.buf = r.buf[8:]
	return v, nil
}

func decodeBoolean(r *ValueReader) (any, error) {
	b, err := r.Byte()
	return int8(b), err
}

func decodeDatetime(r *ValueReader) (any, error) {
	s, err := r.varint()
	if err != nil {
		return nil, err
	}
	ns, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if ns >= 1e9 {
		return nil, fmt.Errorf("datetime nanoseconds %d out of range", ns)
	}
	return time.Unix(s, int64(ns)).UTC(), nil
}

func encodeDecimal(dst []byte, v any) ([]byte, error) {
	b, err := v.(decimal.Decimal).MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...), nil
}

func decodeDecimal(r *ValueReader) (any, error) {
	b, err := r.bytes()
	if err != nil {
		return nil, err
	}
	var v decimal.Decimal
	if err := v.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("decimal: %w", err)
	}
	// MySQL decimals have at most 65 digits: bound what formatting and key
	// encoding would otherwise expand without limit.
	if e := v.Exponent(); e < -maxDecimalDigits || e > maxDecimalDigits || v.Coefficient().BitLen() > 4*maxDecimalDigits {
		return nil, fmt.Errorf("decimal out of range (exponent %d)", e)
	}
	return v, nil
}
