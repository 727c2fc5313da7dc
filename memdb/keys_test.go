package memdb

import (
	"bytes"
	"math"
	"testing"
	"time"
)

// TestKeyOrder: for each kind, the key order of values is their SQL order.
func TestKeyOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		kind Kind
		vals []any // ascending, NULL first
	}{
		{KindBigInt, []any{nil, int64(math.MinInt64), int64(-1000), int64(-1), int64(0), int64(1), int64(255), int64(256), int64(math.MaxInt64)}},
		{KindInt, []any{nil, int32(math.MinInt32), int32(-1), int32(0), int32(7), int32(math.MaxInt32)}},
		{KindBigIntUnsigned, []any{nil, uint64(0), uint64(1), uint64(1 << 40), uint64(math.MaxUint64)}},
		{KindDouble, []any{nil, math.Inf(-1), -1e300, -2.5, -1e-300, 0.0, 1e-300, 2.5, 1e300, math.Inf(1)}},
		{KindVarchar, []any{nil, "", "\x00", "\x00\x00", "\x00a", "a", "a\x00", "a\x00b", "ab", "b", "é"}},
		{KindVarbinary, []any{nil, []byte{}, []byte{0}, []byte{0, 0xff}, []byte{1}, []byte{0xff}}},
		{KindBoolean, []any{nil, int8(0), int8(1)}},
		{KindDatetime, []any{nil, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), t0, t0.Add(time.Microsecond), t0.Add(time.Hour)}},
	}
	for _, c := range cases {
		var prev []byte
		for i, v := range c.vals {
			key, err := appendKey(nil, c.kind, v)
			if err != nil {
				t.Fatalf("%s %v: %v", c.kind, v, err)
			}
			if i > 0 && bytes.Compare(prev, key) >= 0 {
				t.Errorf("%s: key of %v (%x) does not sort after key of %v (%x)", c.kind, v, key, c.vals[i-1], prev)
			}
			prev = key
		}
	}
}

// TestCompositeKeyOrder: composite keys sort column by column, even when a
// string column is a prefix of another (the terminator makes keys prefix-free).
func TestCompositeKeyOrder(t *testing.T) {
	tuples := [][2]any{{"a", int64(9)}, {"a\x00", int64(1)}, {"ab", int64(0)}, {"b", int64(-5)}}
	var prev []byte
	for i, tp := range tuples {
		k, _ := appendKey(nil, KindVarchar, tp[0])
		k, _ = appendKey(k, KindBigInt, tp[1])
		if i > 0 && bytes.Compare(prev, k) >= 0 {
			t.Errorf("%v does not sort after %v", tp, tuples[i-1])
		}
		prev = k
	}
}

func TestKeyRejectsWrongGoType(t *testing.T) {
	if _, err := appendKey(nil, KindBigInt, int32(1)); err == nil {
		t.Fatal("an int32 encoded as a BIGINT key: lookups with the wrong width would find nothing")
	}
}

// FuzzKeyOrder: string keys sort exactly as the strings (bytewise).
func FuzzKeyOrder(f *testing.F) {
	f.Add("a", "a\x00")
	f.Add("", "\x00")
	f.Add("ab\x00\xff", "ab\x00")
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, _ := appendKey(nil, KindVarbinary, []byte(a))
		kb, _ := appendKey(nil, KindVarbinary, []byte(b))
		if got, want := bytes.Compare(ka, kb), bytes.Compare([]byte(a), []byte(b)); got != want {
			t.Fatalf("compare(%q, %q): keys %d, values %d", a, b, got, want)
		}
	})
}
