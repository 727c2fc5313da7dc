package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/imagodb/imago/memdb"
)

// Row encoding, per column in order: nullable columns start with a presence
// byte (0 NULL, 1 a value); then the value by kind: integers as (zig-zag)
// varints, doubles as 8 little-endian bytes, strings and byte strings as a
// uvarint length and the bytes, booleans as one byte, datetimes as varint
// Unix seconds and uvarint nanoseconds (UTC), decimals as their exact binary
// form (shopspring MarshalBinary) with a length.

func appendRow(dst []byte, cols []memdb.Column, row memdb.Row) ([]byte, error) {
	for i, c := range cols {
		v := row[i]
		if c.Nullable {
			if v == nil {
				dst = append(dst, 0)
				continue
			}
			dst = append(dst, 1)
		}
		var err error
		if dst, err = appendValue(dst, c.Type.Kind, v); err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	return dst, nil
}

func appendValue(dst []byte, k memdb.Kind, v any) ([]byte, error) {
	switch k {
	case memdb.KindBigInt:
		return binary.AppendVarint(dst, v.(int64)), nil
	case memdb.KindBigIntUnsigned:
		return binary.AppendUvarint(dst, v.(uint64)), nil
	case memdb.KindInt:
		return binary.AppendVarint(dst, int64(v.(int32))), nil
	case memdb.KindDouble:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.(float64))), nil
	case memdb.KindVarchar, memdb.KindChar, memdb.KindText, memdb.KindJSON:
		s := v.(string)
		return append(binary.AppendUvarint(dst, uint64(len(s))), s...), nil
	case memdb.KindVarbinary, memdb.KindBlob:
		b := v.([]byte)
		return append(binary.AppendUvarint(dst, uint64(len(b))), b...), nil
	case memdb.KindBoolean:
		return append(dst, byte(v.(int8))), nil
	case memdb.KindDatetime:
		t := v.(time.Time)
		return binary.AppendUvarint(binary.AppendVarint(dst, t.Unix()), uint64(t.Nanosecond())), nil
	case memdb.KindDecimal:
		b, err := v.(decimal.Decimal).MarshalBinary()
		if err != nil {
			return nil, err
		}
		return append(binary.AppendUvarint(dst, uint64(len(b))), b...), nil
	}
	return nil, fmt.Errorf("no encoding for %s", k)
}

// maxDecimalDigits is MySQL's largest DECIMAL precision.
const maxDecimalDigits = 65

// errShort is a row that ends before its last value.
var errShort = errors.New("the row ends early")

// rowDecoder decodes rows from a buffer holding whole rows.
type rowDecoder struct {
	buf []byte
}

func (d *rowDecoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		return 0, errShort
	}
	d.buf = d.buf[n:]
	return v, nil
}

func (d *rowDecoder) varint() (int64, error) {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		return 0, errShort
	}
	d.buf = d.buf[n:]
	return v, nil
}

func (d *rowDecoder) bytes() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.buf)) {
		return nil, errShort
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b, nil
}

// row decodes one row of cols.
func (d *rowDecoder) row(cols []memdb.Column) (memdb.Row, error) {
	row := make(memdb.Row, len(cols))
	for i, c := range cols {
		if c.Nullable {
			if len(d.buf) == 0 {
				return nil, errShort
			}
			present := d.buf[0]
			d.buf = d.buf[1:]
			if present == 0 {
				continue
			}
			if present != 1 {
				return nil, fmt.Errorf("column %s: presence byte %d", c.Name, present)
			}
		}
		v, err := d.value(c.Type.Kind)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		row[i] = v
	}
	return row, nil
}

func (d *rowDecoder) value(k memdb.Kind) (any, error) {
	switch k {
	case memdb.KindBigInt:
		return d.varint()
	case memdb.KindBigIntUnsigned:
		return d.uvarint()
	case memdb.KindInt:
		v, err := d.varint()
		if err == nil && (v < math.MinInt32 || v > math.MaxInt32) {
			err = fmt.Errorf("INT value %d out of range", v)
		}
		return int32(v), err
	case memdb.KindDouble:
		if len(d.buf) < 8 {
			return nil, errShort
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.buf))
		d.buf = d.buf[8:]
		return v, nil
	case memdb.KindVarchar, memdb.KindChar, memdb.KindText, memdb.KindJSON:
		b, err := d.bytes()
		if err == nil && !utf8.Valid(b) {
			err = errors.New("text is not UTF-8")
		}
		return string(b), err
	case memdb.KindVarbinary, memdb.KindBlob:
		b, err := d.bytes()
		return append([]byte{}, b...), err
	case memdb.KindBoolean:
		if len(d.buf) == 0 {
			return nil, errShort
		}
		v := int8(d.buf[0])
		d.buf = d.buf[1:]
		return v, nil
	case memdb.KindDatetime:
		s, err := d.varint()
		if err != nil {
			return nil, err
		}
		ns, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if ns >= 1e9 {
			return nil, fmt.Errorf("datetime nanoseconds %d out of range", ns)
		}
		return time.Unix(s, int64(ns)).UTC(), nil
	case memdb.KindDecimal:
		b, err := d.bytes()
		if err != nil {
			return nil, err
		}
		var v decimal.Decimal
		if err := v.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("decimal: %w", err)
		}
		// MySQL decimals have at most 65 digits: bound what formatting and
		// key encoding would otherwise expand without limit.
		if e := v.Exponent(); e < -maxDecimalDigits || e > maxDecimalDigits || v.Coefficient().BitLen() > 4*maxDecimalDigits {
			return nil, fmt.Errorf("decimal out of range (exponent %d)", e)
		}
		return v, nil
	}
	return nil, fmt.Errorf("no decoding for %s", k)
}
