package api

import (
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/imagodb/imago/commands"
)

// catalogEntry describes one command for GET /v1/commands.
type catalogEntry struct {
	Name    string         `json:"name"`
	Version uint32         `json:"version"`
	Path    string         `json:"path"`
	Schema  map[string]any `json:"schema"`
}

func catalogOf(r *commands.Registry) map[string]any {
	var entries []catalogEntry
	for _, d := range r.Definitions() {
		s := schemaOf(d.Type())
		s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
		s["title"] = d.Name
		entries = append(entries, catalogEntry{Name: d.Name, Version: d.Version, Path: "/v1/commands/" + d.Name, Schema: s})
	}
	return map[string]any{"commands": entries}
}

var timeType = reflect.TypeFor[time.Time]()

// schemaOf is the JSON Schema of the values the write API accepts for t
// (see decodeJSON: unknown fields rejected, names case-sensitive).
func schemaOf(t reflect.Type) map[string]any {
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaOf(t.Elem())
		s["type"] = []any{s["type"], "null"}
		return s
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return map[string]any{"type": "integer", "minimum": -(int64(1) << (bits - 1)), "maximum": int64(math.MaxInt64 >> (64 - bits))}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		return structSchema(t)
	}
	return map[string]any{}
}

func structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			required = append(required, name)
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}
