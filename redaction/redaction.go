// Package redaction replaces payload fields of chosen log entries with a
// marker (the memory-image pattern's answer to purging: change the contents
// of commands without removing them, so that replay still succeeds), and
// proves, before anything is written, that replay of the redacted log
// changes nothing but values derived from the redacted fields.
//
// What "derived" means, and how it is known: the proof replays the log
// twice, as stored and as redacted, and compares each command's outcome
// and the rows it changed (a batch of commands per image transaction; a
// batch that differs is replayed again a command at a time, so that the
// refusal is the one a command-at-a-time replay gives). Every cell that differs
// must be derived from a redacted field, which the proof accepts only on
// evidence: the redacted replay's cell is a string holding the marker (the
// redacted text flowed into it: copied, concatenated, case-folded), or the
// operator declared its column derived (Selection.Derived, "table.column",
// for values computed from a redacted field that do not carry the text: a
// hash, a length). The declaration is recorded with the redaction. A
// replay that differs in anything else (a total, a stock count, a row
// inserted or refused in one replay only) is refused, naming the first seq
// and the row and column. This is stricter than "every difference is caused
// by the redacted fields", which is true of every difference by
// construction and so proves nothing; it errs towards refusing, and the
// refusal says what to declare if the column is meant to follow. One
// column is derived by definition: the body hash Imago remembers with a
// keyed command's idempotency key is the hash of its payload (the keys are
// compared one by one; all else of a key must be equal).
//
// Guarantees:
//   - Select never changes a seq, name, version, id, time, actor, cause or
//     key expiry: only the named payload fields, to Marker(seq).
//   - Prove refuses (*RefusedError) at the first seq where the two replays
//     differ in outcome, in the rows changed, or in a cell that is not
//     derived; it changes nothing on disk.
//   - The refusal names seqs, tables, keys and columns, never a value of a
//     redacted field (a key holding one, or part of one, is masked).
package redaction

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imagodb/imago/envelope"
)

// Marker is the value that replaces a redacted payload field of the entry
// at seq: "[redacted:<seq>]". The seq keeps two redacted values apart, so
// that a unique index over a redacted field (customers by email) does not
// refuse the second customer redacted.
func Marker(seq uint64) string { return fmt.Sprintf("%s%d]", markerPrefix, seq) }

// markerPrefix begins every marker: a value holding it (in any case) came
// from a redacted field.
const markerPrefix = "[redacted:"

// IsMarker tells whether v is a marker (the field was redacted already).
func IsMarker(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(s, markerPrefix) && strings.HasSuffix(s, "]")
}

// Selection chooses entries and the payload fields to redact in them.
type Selection struct {
	Seqs []uint64 // these entries
	// WhereField and WhereValue choose, besides, every entry whose stored
	// payload has that field with that value (compared as the text of a
	// string or number: "c-17", "42").
	WhereField, WhereValue string
	Fields                 []string // the payload fields replaced by Marker(seq)
	// Derived are columns ("table.column") declared to hold values derived
	// from the redacted fields without carrying their text (a hash of an
	// email): the proof lets them differ.
	Derived []string
}

// Check refuses a selection that chooses nothing or redacts nothing.
func (s Selection) Check() error {
	if len(s.Fields) == 0 {
		return fmt.Errorf("a redaction needs the payload fields to redact")
	}
	if len(s.Seqs) == 0 && s.WhereField == "" {
		return fmt.Errorf("a redaction needs entries: seqs, or a field and its value")
	}
	if s.WhereField != "" && s.WhereValue == "" {
		return fmt.Errorf("a redaction by field %q needs the value to match", s.WhereField)
	}
	for _, d := range s.Derived {
		if t, c, ok := strings.Cut(d, "."); !ok || t == "" || c == "" {
			return fmt.Errorf("derived column %q: give table.column", d)
		}
	}
	return nil
}

// Select reads the values from..to and returns the new value of every
// chosen entry that holds a field to redact with a value that is not a
// marker (an entry redacted before is not rewritten again). A seq of s.Seqs
// outside the log is an error naming it.
func Select(values envelope.Values, from, to uint64, s Selection) (map[uint64][]byte, error) {
	for _, seq := range s.Seqs {
		if seq < values.FirstSeq() {
			return nil, fmt.Errorf("seq %d: the log begins at seq %d (truncated): the entry is gone already", seq, values.FirstSeq())
		}
	}
	chosen := map[uint64]bool{}
	for _, seq := range s.Seqs {
		chosen[seq] = true
	}
	out := map[uint64][]byte{}
	err := values.ReadValues(from, to, func(seq uint64, v []byte) error {
		nv, err := redact(seq, v, chosen[seq], s)
		if nv != nil {
			out[seq] = nv
		}
		return err
	})
	return out, err
}

// redact is the new value of the entry seq, or nil when it is not chosen
// or holds nothing to redact.
func redact(seq uint64, v []byte, chosen bool, s Selection) ([]byte, error) {
	env, err := envelope.Decode(seq, v)
	if err != nil {
		return nil, err
	}
	m, err := envelope.DecodePayloadMap(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("log entry %d: %w", seq, err)
	}
	if !chosen && !(s.WhereField != "" && matches(m[s.WhereField], s.WhereValue)) {
		return nil, nil
	}
	changed := false
	for _, f := range s.Fields {
		if old, ok := m[f]; ok && !IsMarker(old) {
			m[f], changed = Marker(seq), true
		}
	}
	if !changed {
		return nil, nil
	}
	if env.Payload, err = envelope.EncodePayload(m); err != nil {
		return nil, err
	}
	return envelope.Encode(&env)
}

func matches(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case nil:
		return false
	}
	return fmt.Sprint(v) == want
}

// Seqs are the keys of values, in order.
func Seqs(values map[uint64][]byte) []uint64 {
	seqs := make([]uint64, 0, len(values))
	for s := range values {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	return seqs
}

// Overlay is a log of values with some replaced: the log as redacted.
type Overlay struct {
	envelope.Values
	Replaced map[uint64][]byte
}

// ReadValues reads the underlying log, each replaced value in its place.
func (o Overlay) ReadValues(from, to uint64, fn func(uint64, []byte) error) error {
	return o.Values.ReadValues(from, to, func(seq uint64, v []byte) error {
		if nv, ok := o.Replaced[seq]; ok {
			v = nv
		}
		return fn(seq, v)
	})
}
