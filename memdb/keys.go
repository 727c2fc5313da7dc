package memdb

import (
	"fmt"
	"reflect"
)

// Index keys are byte strings whose lexicographic order is the SQL order of the
// indexed values, so that a range predicate becomes a go-memdb LowerBound scan
// that stops at an upper key. Each value is encoded as a tag byte followed by a
// body:
//
//	NULL        0x00                    (NULL sorts first, as in MySQL)
//	non-NULL    0x01 body
//
// Bodies:
//
//	signed ints, DATETIME   8 bytes big-endian with the sign bit flipped
//	unsigned ints           8 bytes big-endian
//	DOUBLE                  IEEE bits, all bits flipped if negative, else sign bit flipped
//	BOOLEAN                 1 byte
//	strings, bytes          bytes with 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01
//
// The string terminator makes every encoding prefix-free, so a composite key is
// the concatenation of its column encodings and still sorts column by column.
// Strings compare bytewise, which is the utf8mb4_0900_bin collation the SQL
// layer declares for every table.
const (
	tagNull    byte = 0x00
	tagPresent byte = 0x01
)

// appendKey appends the order-preserving encoding of v, a value of kind k, to dst.
func appendKey(dst []byte, k Kind, v any) ([]byte, error) {
	if v == nil {
		return append(dst, tagNull), nil
	}
	info := k.info()
	if info == nil || info.key == nil {
		return nil, fmt.Errorf("memdb: %s columns cannot be part of an index key", k)
	}
	if reflect.TypeOf(v) != info.value {
		return nil, fmt.Errorf("memdb: key value %v has Go type %T, want %s for %s", v, v, info.value, k)
	}
	return info.key(append(dst, tagPresent), v), nil
}

func appendEscaped[S string | []byte](dst []byte, s S) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0x00, 0xFF)
			continue
		}
		dst = append(dst, s[i])
	}
	return append(dst, 0x00, 0x01)
}

// indexable reports whether columns of kind k may be part of an index key.
// DECIMAL and JSON have no order-preserving encoding here yet.
func indexable(k Kind) bool { return k.info() != nil && k.info().key != nil }
