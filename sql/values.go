package sql

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
)

// DefaultMaxAllowedPacket is MySQL's max_allowed_packet: no string a
// function builds may be longer.
const DefaultMaxAllowedPacket = 64 << 20

// erWarnAllowedPacketOverflowed is MySQL's warning 1301 for a function
// result over max_allowed_packet (the result is NULL).
const erWarnAllowedPacketOverflowed = 1301

// resultSize is an upper bound on the bytes of a function's result, from
// its evaluated arguments, computed without building the result.
type resultSize func(args []any) float64

// sizedFunctions are GMS's string functions whose result can be much
// larger than their arguments (REPEAT('x', 2000000000) took 2 GB), or grow
// with nesting (CONCAT(@s, @s)). As in MySQL, a result over
// max_allowed_packet is NULL with warning 1301. The bounds are MySQL's
// where it has one (LPAD and RPAD count 4 bytes a character).
var sizedFunctions = map[string]resultSize{
	"repeat": func(a []any) float64 { return strLen(a[0]) * count(a[1]) },
	"space":  func(a []any) float64 { return count(a[0]) },
	"lpad":   padSize,
	"rpad":   padSize,
	"concat": func(a []any) float64 { return sumLen(a) },
	"concat_ws": func(a []any) float64 {
		return sumLen(a[1:]) + float64(max(len(a)-2, 0))*strLen(a[0])
	},
	"replace": func(a []any) float64 {
		s, from, to := str(a[0]), str(a[1]), str(a[2])
		if from == "" || len(to) <= len(from) {
			return float64(len(s))
		}
		return float64(len(s)) + float64(strings.Count(s, from))*float64(len(to)-len(from))
	},
	"insert": func(a []any) float64 { return strLen(a[0]) + strLen(a[3]) },
	// A pattern may match at every position, the empty string included.
	"regexp_replace": func(a []any) float64 { return strLen(a[0]) + (strLen(a[0])+1)*strLen(a[2]) },
	"export_set": func(a []any) float64 {
		sep := 1.0
		if len(a) > 3 {
			sep = strLen(a[3])
		}
		return 64 * (max(strLen(a[1]), strLen(a[2])) + sep)
	},
	"make_set":  func(a []any) float64 { return sumLen(a) },
	"to_base64": func(a []any) float64 { return strLen(a[0])*4/3 + strLen(a[0])/57 + 4 },
	"hex":       func(a []any) float64 { return 2 * strLen(a[0]) },
}

func padSize(a []any) float64 {
	if len(a) < 2 {
		return 0
	}
	return 4 * count(a[1])
}

func str(v any) string {
	switch s := v.(type) {
	case nil:
		return ""
	case string:
		return s
	case []byte:
		return string(s)
	}
	return fmt.Sprint(v)
}

func strLen(v any) float64 {
	switch s := v.(type) {
	case nil:
		return 0
	case string:
		return float64(len(s))
	case []byte:
		return float64(len(s))
	}
	return float64(len(fmt.Sprint(v)))
}

func sumLen(a []any) float64 {
	n := 0.0
	for _, v := range a {
		n += strLen(v)
	}
	return n
}

// count is a numeric argument as MySQL reads a count (negative: 0).
func count(v any) float64 {
	var f float64
	switch n := v.(type) {
	case nil:
		return 0
	case int:
		f = float64(n)
	case int8:
		f = float64(n)
	case int16:
		f = float64(n)
	case int32:
		f = float64(n)
	case int64:
		f = float64(n)
	case uint:
		f = float64(n)
	case uint8:
		f = float64(n)
	case uint16:
		f = float64(n)
	case uint32:
		f = float64(n)
	case uint64:
		f = float64(n)
	case float32:
		f = float64(n)
	case float64:
		f = n
	default: // decimals, strings
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(str(v)), 64); err != nil {
			return 0
		}
	}
	if f < 0 || math.IsNaN(f) {
		return 0
	}
	return f
}

func maxAllowedPacket(cfg Config) int {
	if cfg.MaxAllowedPacket <= 0 {
		return DefaultMaxAllowedPacket
	}
	return cfg.MaxAllowedPacket
}

// sizedFunctionsOf are the sizedFunctions as GMS functions over its
// built-ins, bounded by maxBytes; the provider offers them, which takes
// precedence over GMS's own.
func sizedFunctionsOf(maxBytes int) map[string]gsql.Function {
	fns := map[string]gsql.Function{}
	for _, builtin := range function.BuiltIns {
		name := strings.ToLower(builtin.FunctionName())
		size, ok := sizedFunctions[name]
		if !ok {
			continue
		}
		fns[name] = gsql.FunctionN{Name: name, Fn: func(ctx *gsql.Context, args ...gsql.Expression) (gsql.Expression, error) {
			inner, err := builtin.NewInstance(ctx, args)
			if err != nil {
				return nil, err
			}
			return &sizedFunc{Expression: inner, name: name, size: size, max: maxBytes}, nil
		}}
	}
	return fns
}

// sizedFunc is a GMS built-in that answers NULL with warning 1301 when its
// result would exceed max bytes. It evaluates the arguments itself,
// bounds the result, and only then lets the built-in build it.
type sizedFunc struct {
	gsql.Expression // the built-in
	name            string
	size            resultSize
	max             int
}

var (
	_ gsql.FunctionExpression = (*sizedFunc)(nil)
	_ gsql.CollationCoercible = (*sizedFunc)(nil)
)

func (f *sizedFunc) Eval(ctx *gsql.Context, row gsql.Row) (any, error) {
	children := f.Children()
	args := make([]any, len(children))
	literals := make([]gsql.Expression, len(children))
	for i, c := range children {
		v, err := c.Eval(ctx, row)
		if err != nil {
			return nil, err
		}
		args[i], literals[i] = v, expression.NewLiteral(v, c.Type(ctx))
	}
	if f.size(args) > float64(f.max) {
		ctx.Warn(erWarnAllowedPacketOverflowed, "Result of %s() was larger than max_allowed_packet (%d) - truncated", f.name, f.max)
		return nil, nil
	}
	inner, err := f.Expression.WithChildren(ctx, literals...)
	if err != nil {
		return nil, err
	}
	return inner.Eval(ctx, row)
}

// IsNullable: NULL is the answer beyond max.
func (f *sizedFunc) IsNullable(*gsql.Context) bool { return true }

func (f *sizedFunc) WithChildren(ctx *gsql.Context, children ...gsql.Expression) (gsql.Expression, error) {
	inner, err := f.Expression.WithChildren(ctx, children...)
	if err != nil {
		return nil, err
	}
	return &sizedFunc{Expression: inner, name: f.name, size: f.size, max: f.max}, nil
}

func (f *sizedFunc) FunctionName() string { return f.name }

func (f *sizedFunc) Description() string {
	if fe, ok := f.Expression.(gsql.FunctionExpression); ok {
		return fe.Description()
	}
	return f.name
}

func (f *sizedFunc) CollationCoercibility(ctx *gsql.Context) (gsql.CollationID, byte) {
	return gsql.GetCoercibility(ctx, f.Expression)
}
