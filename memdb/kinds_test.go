package memdb

import (
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// samples hold a value of every kind; TestKinds fails on a kind without one.
var samples = map[Kind]any{
	KindBigInt: int64(-42), KindBigIntUnsigned: uint64(1) << 63, KindInt: int32(-7), KindDouble: -1.5,
	KindDecimal: decimal.RequireFromString("-123.45"), KindVarchar: "héllo", KindChar: "c", KindText: "long\x00text",
	KindJSON: `{"a":[1,2]}`, KindVarbinary: []byte{0, 1, 2}, KindBlob: []byte("blob"), KindBoolean: int8(1),
	KindDatetime: time.Date(2026, 11, 30, 1, 2, 3, 456000, time.UTC),
}

// TestKinds: every kind has a name, a value type, and a binary form that
// reads back to the same value; a value of another Go type is refused.
func TestKinds(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.String(), func(t *testing.T) {
			v, ok := samples[k]
			if !ok {
				t.Fatalf("no sample value of %s", k)
			}
			if err := checkValue(Column{Name: "c", Type: Type{Kind: k, Length: 100, Precision: 10, Scale: 2}}, v); err != nil {
				t.Fatalf("sample %v: %v", v, err)
			}
			b, err := AppendValue(nil, k, v)
			if err != nil {
				t.Fatal(err)
			}
			r := NewValueReader(b)
			got, err := r.Value(k)
			if err != nil || !reflect.DeepEqual(got, v) || r.Len() != 0 {
				t.Fatalf("round trip: %#v %v (%d left), want %#v", got, err, r.Len(), v)
			}
			if _, err := r.Value(k); err == nil {
				t.Errorf("read past the end: no error")
			}
			if _, err := AppendValue(nil, k, struct{}{}); err == nil {
				t.Error("a value of another Go type was encoded")
			}
		})
	}
}
