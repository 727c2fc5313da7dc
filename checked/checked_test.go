package checked_test

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/imagodb/imago/checked"
)

const (
	maxInt = math.MaxInt64
	minInt = math.MinInt64
)

func TestOperations(t *testing.T) {
	cases := []struct {
		name string
		op   func(a, b int64) (int64, error)
		a, b int64
		want int64
		err  string // "" for no error, else a part of the message
	}{
		{"add small", checked.Add, 2, 3, 5, ""},
		{"add to max", checked.Add, maxInt - 1, 1, maxInt, ""},
		{"add past max", checked.Add, maxInt, 1, 0, "9223372036854775807 + 1 overflows int64"},
		{"add past min", checked.Add, minInt, -1, 0, "-9223372036854775808 + -1 overflows"},
		{"add opposite signs", checked.Add, maxInt, minInt, -1, ""},
		{"sub small", checked.Sub, 2, 3, -1, ""},
		{"sub to min", checked.Sub, minInt + 1, 1, minInt, ""},
		{"sub past min", checked.Sub, minInt, 1, 0, "-9223372036854775808 - 1 overflows"},
		{"sub min from zero", checked.Sub, 0, minInt, 0, "0 - -9223372036854775808 overflows"},
		{"sub past max", checked.Sub, maxInt, -1, 0, "overflows"},
		{"mul small", checked.Mul, 450, 2, 900, ""},
		{"mul zero", checked.Mul, 0, minInt, 0, ""},
		{"mul max by 2 (the attack's price x quantity)", checked.Mul, maxInt, 2, 0, "9223372036854775807 * 2 overflows"},
		{"mul 2^62 by 2", checked.Mul, 1 << 62, 2, 0, "overflows"},
		{"mul 2^62 by -2 is min", checked.Mul, 1 << 62, -2, minInt, ""},
		{"mul min by -1", checked.Mul, minInt, -1, 0, "overflows"},
		{"mul -1 by min", checked.Mul, -1, minInt, 0, "overflows"},
		{"mul min by 1", checked.Mul, minInt, 1, minInt, ""},
		{"mul negative", checked.Mul, -3, 4, -12, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.op(c.a, c.b)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("got %d, %v; want %d", got, err, c.want)
				}
				return
			}
			var oe *checked.OverflowError
			if got != 0 || err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, checked.ErrOverflow) || !errors.As(err, &oe) {
				t.Fatalf("got %d, %v; want 0 and an overflow error containing %q", got, err, c.err)
			}
		})
	}
}

func TestSum(t *testing.T) {
	cases := []struct {
		name   string
		values []int64
		want   int64
		err    string
	}{
		{"none", nil, 0, ""},
		{"some", []int64{1, 2, 3}, 6, ""},
		{"two lines at 2^62 (the attack)", []int64{1 << 62, 1 << 62}, 0, "sum of 2 values, at value 1: 4611686018427387904 + 4611686018427387904 overflows"},
		{"back in range after an overflow is still refused", []int64{maxInt, 1, -1}, 0, "at value 1"},
		{"down to min", []int64{minInt + 1, -1}, minInt, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := checked.Sum(c.values...)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("got %d, %v; want %d", got, err, c.want)
				}
				return
			}
			if got != 0 || err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, checked.ErrOverflow) {
				t.Fatalf("got %d, %v; want 0 and an error containing %q", got, err, c.err)
			}
		})
	}
}

// FuzzOperations compares every operation with math/big: the result when
// the exact value fits in an int64, an overflow error when it does not.
func FuzzOperations(f *testing.F) {
	for _, seed := range [][2]int64{{0, 0}, {maxInt, 1}, {minInt, -1}, {1 << 62, 2}, {-1, minInt}, {maxInt, minInt}, {3037000499, 3037000500}} {
		f.Add(seed[0], seed[1])
	}
	ops := []struct {
		name  string
		op    func(a, b int64) (int64, error)
		exact func(z, x, y *big.Int) *big.Int
	}{
		{"Add", checked.Add, (*big.Int).Add},
		{"Sub", checked.Sub, (*big.Int).Sub},
		{"Mul", checked.Mul, (*big.Int).Mul},
		{"Sum", func(a, b int64) (int64, error) { return checked.Sum(a, b) }, (*big.Int).Add},
	}
	f.Fuzz(func(t *testing.T, a, b int64) {
		for _, o := range ops {
			exact := o.exact(new(big.Int), big.NewInt(a), big.NewInt(b))
			got, err := o.op(a, b)
			switch {
			case exact.IsInt64() && (err != nil || got != exact.Int64()):
				t.Fatalf("%s(%d, %d) = %d, %v; want %s", o.name, a, b, got, err, exact)
			case !exact.IsInt64() && (err == nil || got != 0 || !errors.Is(err, checked.ErrOverflow)):
				t.Fatalf("%s(%d, %d) = %d, %v; want an overflow error (exact %s)", o.name, a, b, got, err, exact)
			}
		}
	})
}
