package envelope

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// An upcast entry's payload is a generic map (what upcasters change);
// the command's decoder used to read it after the map was encoded again,
// through the general codec's reflection: the map's encoding and that
// decode were most of what an upcaster chain added to replay's decode step
// (BenchmarkReplayUpcast, read-chain2 against read-none). decodeStruct
// fills the command's struct from the map directly, by a plan made once
// per struct type. It does the common case only: structs of booleans,
// strings, integers, float64s, byte strings, slices and structs of these,
// named by json tags, and values of the types the map decoder and the
// usual upcaster give. Anything else (a cbor tag, an embedded or pointer
// field, a type with its own unmarshaler, a key matching a field only
// without regard to case, a value out of a field's range, a null) goes
// the general way: the encoded payload through the general codec, which
// decides and words the error. Both ways give the same struct
// (TestDecodeStructMatchesCodec, FuzzDecodeStruct).

// structPlan is how a struct type is filled from a payload map.
type structPlan struct {
	fields map[string]fieldPlan // by key (the json name)
	folded []string             // the keys in lower case, to send a case-insensitive match the general way
}

type fieldPlan struct {
	index int
	set   setter
}

// setter sets a field (or slice element) from a map value; errSlowPath
// when the value is not for the fast path.
type setter func(v reflect.Value, x any) error

// plans caches the plan of each struct type; a nil plan: the general way.
var plans sync.Map // reflect.Type → *structPlan

var (
	cborUnmarshaler   = reflect.TypeFor[cbor.Unmarshaler]()
	binaryUnmarshaler = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	textUnmarshaler   = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonUnmarshaler   = reflect.TypeFor[json.Unmarshaler]()
)

// planOf is the plan of struct type t, or nil when it needs the general
// codec.
func planOf(t reflect.Type) *structPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*structPlan)
	}
	p := makePlan(t, 0)
	plans.Store(t, p)
	return p
}

// ownUnmarshaler tells whether t decodes itself (time.Time, big.Int, ...).
func ownUnmarshaler(t reflect.Type) bool {
	for _, u := range []reflect.Type{cborUnmarshaler, binaryUnmarshaler, textUnmarshaler, jsonUnmarshaler} {
		if t.Implements(u) || reflect.PointerTo(t).Implements(u) {
			return true
		}
	}
	return false
}

func makePlan(t reflect.Type, depth int) *structPlan {
	if t.Kind() != reflect.Struct || depth > fastMaxDepth || ownUnmarshaler(t) {
		return nil
	}
	p := &structPlan{fields: map[string]fieldPlan{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil // promoted fields: the general way
		}
		if !f.IsExported() {
			continue
		}
		if _, ok := f.Tag.Lookup("cbor"); ok {
			return nil
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		for o := range strings.SplitSeq(opts, ",") {
			if o != "" && o != "omitempty" && o != "omitzero" {
				return nil // ",string" and the like
			}
		}
		if name == "" {
			name = f.Name
		}
		set := setterOf(f.Type, depth)
		if set == nil {
			return nil
		}
		folded := strings.ToLower(name)
		if slices.Contains(p.folded, folded) {
			return nil // two fields a key could match
		}
		p.fields[name] = fieldPlan{index: i, set: set}
		p.folded = append(p.folded, folded)
	}
	return p
}

// setterOf sets a value of type t, or nil when t needs the general codec.
func setterOf(t reflect.Type, depth int) setter {
	if ownUnmarshaler(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return setBool
	case reflect.String:
		return setString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return setInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return setUint
	case reflect.Float64:
		return setFloat
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if t.Elem() != reflect.TypeFor[byte]() {
				return nil
			}
			return setBytes
		}
		elem := setterOf(t.Elem(), depth+1)
		if elem == nil {
			return nil
		}
		return func(v reflect.Value, x any) error {
			a, ok := x.([]any)
			if !ok || len(a) > fastMaxItems {
				return errSlowPath
			}
			s := reflect.MakeSlice(t, len(a), len(a))
			for i, e := range a {
				if err := elem(s.Index(i), e); err != nil {
					return err
				}
			}
			v.Set(s)
			return nil
		}
	case reflect.Struct:
		p := makePlan(t, depth+1)
		if p == nil {
			return nil
		}
		return func(v reflect.Value, x any) error {
			m, ok := x.(map[string]any)
			if !ok {
				return errSlowPath
			}
			return p.fill(v, m)
		}
	}
	return nil // pointers, maps, interfaces, arrays, float32, complex: the general way
}

// fill sets the fields of struct v from m.
func (p *structPlan) fill(v reflect.Value, m map[string]any) error {
	for k, x := range m {
		f, ok := p.fields[k]
		if !ok {
			if slices.Contains(p.folded, strings.ToLower(k)) {
				return errSlowPath // a match without regard to case
			}
			continue // an unknown field is ignored, as the general codec does
		}
		if err := f.set(v.Field(f.index), x); err != nil {
			return err
		}
	}
	return nil
}

func setBool(v reflect.Value, x any) error {
	b, ok := x.(bool)
	if !ok {
		return errSlowPath
	}
	v.SetBool(b)
	return nil
}

func setString(v reflect.Value, x any) error {
	s, ok := x.(string)
	if !ok {
		return errSlowPath
	}
	v.SetString(s)
	return nil
}

// integer reads a map value's integer as CBOR holds one: its sign and the
// argument (n, or -1-n of a negative n).
func integer(x any) (negative bool, arg uint64, ok bool) {
	switch i := x.(type) {
	case uint64:
		return false, i, true
	case int64:
		if i < 0 {
			return true, uint64(-1 - i), true
		}
		return false, uint64(i), true
	case int:
		return integer(int64(i))
	}
	return false, 0, false
}

func setInt(v reflect.Value, x any) error {
	negative, arg, ok := integer(x)
	if !ok || arg > math.MaxInt64 {
		return errSlowPath
	}
	n := int64(arg)
	if negative {
		n = -1 - n
	}
	if v.OverflowInt(n) {
		return errSlowPath
	}
	v.SetInt(n)
	return nil
}

func setUint(v reflect.Value, x any) error {
	negative, arg, ok := integer(x)
	if !ok || negative || v.OverflowUint(arg) {
		return errSlowPath
	}
	v.SetUint(arg)
	return nil
}

func setFloat(v reflect.Value, x any) error {
	f, ok := x.(float64)
	if !ok || math.IsNaN(f) {
		return errSlowPath
	}
	v.SetFloat(f)
	return nil
}

func setBytes(v reflect.Value, x any) error {
	b, ok := x.([]byte)
	if !ok {
		return errSlowPath
	}
	v.SetBytes(slices.Clone(b)) // the map stays the envelope's
	return nil
}

// decodeStruct fills *v (a pointer to a struct, zero) from m, or returns
// errSlowPath, leaving *v to be filled the general way.
func decodeStruct(m map[string]any, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errSlowPath
	}
	p := planOf(rv.Elem().Type())
	if p == nil {
		return errSlowPath
	}
	if err := p.fill(rv.Elem(), m); err != nil {
		rv.Elem().SetZero() // what the fast path set is not half kept
		return err
	}
	return nil
}

// DecodePayload decodes the entry's payload into v (a pointer to a new
// command struct): from PayloadMap directly when the upcaster left it,
// else (or when the map holds what the direct way does not do) from
// Payload, its encoding. Both give the same command.
func (e *Envelope) DecodePayload(v any) error {
	if e.PayloadMap != nil {
		if err := decodeStruct(e.PayloadMap, v); err == nil {
			return nil
		}
	}
	return DecodePayload(e.Payload, v)
}
