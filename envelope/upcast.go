package envelope

import (
	"encoding/json"
	"fmt"
)

// Upcaster brings a logged envelope to the current definition of its
// command, in place: a newer version of its payload, another name (a
// renamed command), or nothing (a retired command). It is applied in the
// one decode step (Log), so that every reader of the log sees the same
// upcast form. Package migrations implements it from an app's declared
// upcasters.
type Upcaster interface {
	// Upcast changes env (Name, Version, Payload) to its current form and
	// reports whether it is kept: false retires the entry (readers that
	// apply commands skip it), and Upcast then sets env.Retired to the
	// reason. It must be deterministic: the same entry always gives the
	// same result. An entry with no path to a current definition is left
	// as far as it got (the start refuses such a log before it applies
	// anything; a reader that applies it reports it unknown).
	Upcast(env *Envelope) (keep bool, err error)
}

// WithUpcaster reads the same values as l, each envelope upcast by u (nil:
// none).
func (l *Log) WithUpcaster(u Upcaster) *Log { return &Log{values: l.values, upcaster: u} }

// Upcaster is the log's upcaster, or nil.
func (l *Log) Upcaster() Upcaster { return l.upcaster }

// upcast applies the log's upcaster to env. When it changed anything,
// env.Stored keeps the envelope as stored.
func (l *Log) upcast(env *Envelope) (bool, error) {
	if l.upcaster == nil {
		return true, nil
	}
	stored := *env
	keep, err := l.upcaster.Upcast(env)
	if err != nil {
		return false, fmt.Errorf("envelope: log entry %d (%s v%d): upcast: %w", stored.Seq, stored.Name, stored.Version, err)
	}
	if !keep && env.Retired == "" {
		env.Retired = "retired"
	}
	if !keep || env.Name != stored.Name || env.Version != stored.Version || string(env.Payload) != string(stored.Payload) {
		env.Stored = &stored
	}
	return keep, nil
}

// ReadAll is Read with the entries the upcaster retired: each comes with
// Retired set (and Stored, its stored form), so that tools showing the log
// (imago.commands) can show every seq.
func (l *Log) ReadAll(from, to uint64, fn func(Envelope) error) error {
	return l.values.ReadValues(from, to, func(seq uint64, value []byte) error {
		env, err := Decode(seq, value)
		if err != nil {
			return err
		}
		if _, err := l.upcast(&env); err != nil {
			return err
		}
		return fn(env)
	})
}

// Stored reads the same values as l without its upcaster: the entries as
// the log holds them.
func (l *Log) Stored() *Log { return &Log{values: l.values} }

// DecodePayloadMap decodes a payload into its generic form: a map by the
// command's JSON field names (integers are int64 or uint64, nested maps
// map[string]any), what upcasters change.
func DecodePayloadMap(payload []byte) (map[string]any, error) {
	if m, err := decodeMapFast(payload); err == nil {
		return m, nil
	}
	var m map[string]any
	if err := decMode.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("envelope: decode payload: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// upcastJSON is the upcast form of an entry an upcaster changed.
type upcastJSON struct {
	Name    string          `json:"name,omitempty"`
	Version uint32          `json:"version,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Retired string          `json:"retired,omitempty"`
}

// UpcastJSON renders what the log's upcaster made of an entry it changed,
// {"name", "version", "payload"} or {"retired": reason}; nil when it
// changed nothing (imago.commands' upcast column).
func (e Envelope) UpcastJSON() ([]byte, error) {
	if e.Stored == nil {
		return nil, nil
	}
	if e.Retired != "" {
		return json.Marshal(upcastJSON{Retired: e.Retired})
	}
	payload, err := PayloadJSON(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("envelope: log entry %d: %w", e.Seq, err)
	}
	return json.Marshal(upcastJSON{Name: e.Name, Version: e.Version, Payload: payload})
}
