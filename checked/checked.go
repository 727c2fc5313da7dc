// Package checked is int64 arithmetic that refuses to overflow, for the
// Apply of application commands: Go's integers wrap silently, so a price
// times a quantity that does not fit becomes a negative total, is logged,
// and is replayed forever. With checked, the command is refused instead:
//
//	line, err := checked.Mul(p.PriceCents, l.Quantity)
//	if err != nil {
//		return nil, fmt.Errorf("lines[%d]: price_cents × quantity: %w", i, err)
//	}
//
// Guarantees:
//   - A result is returned only if it is the exact mathematical result;
//     otherwise the result is 0 and the error an *OverflowError (errors.Is
//     ErrOverflow) naming the operation and its operands.
//   - No function panics, whatever its operands (math.MinInt64 included).
//   - Every function is pure and deterministic: the same operands give the
//     same result or error on every machine, so Apply stays replayable.
package checked

import (
	"errors"
	"fmt"
	"math"
)

// ErrOverflow is what every error of this package is (errors.Is).
var ErrOverflow = errors.New("int64 overflow")

// OverflowError is an operation whose exact result does not fit in an int64.
type OverflowError struct {
	Op   string // "+", "-" or "*"
	A, B int64  // the operands
}

func (e *OverflowError) Error() string {
	return fmt.Sprintf("%d %s %d overflows int64 (at most %d)", e.A, e.Op, e.B, int64(math.MaxInt64))
}

// Is makes errors.Is(err, ErrOverflow) true for an *OverflowError.
func (e *OverflowError) Is(target error) bool { return target == ErrOverflow }

// Add returns a + b, or an *OverflowError if it does not fit in an int64.
func Add(a, b int64) (int64, error) {
	c := a + b
	// Adding a positive b must grow a, a negative one shrink it; wrapping
	// around does the opposite.
	if (b > 0 && c < a) || (b < 0 && c > a) {
		return 0, &OverflowError{Op: "+", A: a, B: b}
	}
	return c, nil
}

// Sub returns a - b, or an *OverflowError if it does not fit in an int64.
func Sub(a, b int64) (int64, error) {
	c := a - b
	if (b > 0 && c > a) || (b < 0 && c < a) {
		return 0, &OverflowError{Op: "-", A: a, B: b}
	}
	return c, nil
}

// Mul returns a * b, or an *OverflowError if it does not fit in an int64.
func Mul(a, b int64) (int64, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	c := a * b
	// MinInt64 * -1 wraps to MinInt64, and MinInt64 / -1 would wrap too
	// instead of revealing it, so that pair is tested before dividing.
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) || c/b != a {
		return 0, &OverflowError{Op: "*", A: a, B: b}
	}
	return c, nil
}

// Sum returns the sum of values (0 for none), or an error naming the index
// of the value at which the running sum overflowed, wrapping an
// *OverflowError. A sum whose partial sums overflow is refused even if a
// later value would bring it back into range: each step is checked.
func Sum(values ...int64) (int64, error) {
	var sum int64
	for i, v := range values {
		s, err := Add(sum, v)
		if err != nil {
			return 0, fmt.Errorf("sum of %d values, at value %d: %w", len(values), i, err)
		}
		sum = s
	}
	return sum, nil
}
