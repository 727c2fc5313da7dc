// Package envelope holds what the command log stores: the envelope (a
// command's payload with its metadata), its encoding, and the one decode
// step every reader of the log shares: replay, the writer's recovery,
// reactors, imago.commands, GET /v1/log and the offline tools all turn log
// values into envelopes here, and nowhere else, and an app's upcasters
// (Upcaster) bring old entries to their current form here too.
//
// Guarantees:
//   - Encode is deterministic (CBOR core deterministic encoding): the same
//     envelope always has the same bytes.
//   - Decode never panics on outside bytes; it bounds what an entry may ask
//     for (nesting, array and map sizes) and rejects invalid UTF-8 and
//     duplicate map keys, naming the seq in its error.
//   - A payload is a generic map by the command's JSON field names: it
//     decodes and renders as JSON without the command's Go type.
//   - Envelope.DecodePayload gives the command that decoding Payload
//     gives, whether it reads the upcast map directly or the bytes.
package envelope

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Envelope is a command with its metadata: what the log holds.
type Envelope struct {
	Seq     uint64    // position in the log: 1, 2, 3, … without gaps
	ID      string    // idempotency key: the client's, or generated at accept
	Name    string    // the command's name
	Version uint32    // the command's version when it was accepted
	Time    time.Time // when it was accepted (UTC, microseconds), the only clock Apply may read
	Actor   string    // who submitted it
	Cause   string    // what caused it (a reactor's source command), if anything
	// KeyExpires is set when ID is the submitter's idempotency key: the key
	// is remembered in the image until then (see IdempotencyKeys). Zero:
	// Imago generated the ID and remembers nothing.
	KeyExpires time.Time
	// Payload is the command's fields as a CBOR map keyed by their JSON names:
	// generic, so old entries still decode after the Go type changes.
	Payload []byte
	// ImportedBy is set on a command of another system's history brought in
	// by an import (see writer.Writer.Import): the actor who imported it.
	// Its Time, Actor and ID are then the original system's, not stamped
	// here.
	ImportedBy string
	// PayloadMap is Payload decoded, when the log's upcaster changed the
	// payload (nil otherwise): the command's decoder reads it directly
	// (Envelope.DecodePayload) instead of decoding Payload again. Readers
	// must not change it.
	PayloadMap map[string]any
	// Stored is the envelope as the log stores it, when the log's upcaster
	// changed it (nil: Name, Version and Payload are as stored).
	Stored *Envelope
	// Retired is why the upcaster retired the entry (Log.ReadAll only).
	Retired string
}

// formatVersion is the version of the record layout below.
const formatVersion = 1

// record is the log value of an envelope. Integer keys keep entries small;
// the seq is the log key, not part of the value.
type record struct {
	Format  uint8           `cbor:"0,keyasint"`
	Name    string          `cbor:"1,keyasint"`
	Version uint32          `cbor:"2,keyasint"`
	ID      string          `cbor:"3,keyasint"`
	Time    int64           `cbor:"4,keyasint"`
	Actor   string          `cbor:"5,keyasint,omitempty"`
	Cause   string          `cbor:"6,keyasint,omitempty"`
	Payload cbor.RawMessage `cbor:"7,keyasint"`
	KeyExp  int64           `cbor:"8,keyasint,omitempty"` // unix ns; 0: not keyed
	// Imported: the importer of an imported entry; absent on others, so
	// entries written before imports existed have the same bytes.
	Imported string `cbor:"9,keyasint,omitempty"`
}

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	// Core deterministic encoding: the same envelope always has the same bytes.
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	// Log entries are outside bytes on replay: limit what they may ask for.
	decMode, err = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  32,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 20,
		IndefLength:      cbor.IndefLengthForbidden,
		UTF8:             cbor.UTF8RejectInvalid,
		// Payloads are maps by JSON names: nested maps decode with string
		// keys too, so generic values render as JSON.
		DefaultMapType: reflect.TypeOf(map[string]any(nil)),
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// EncodePayload encodes a command's fields (a struct with json tags, or a
// map) as a CBOR map by their JSON names.
func EncodePayload(v any) ([]byte, error) {
	if m, ok := v.(map[string]any); ok {
		if b, err := encodeMapFast(m); err == nil {
			return b, nil
		}
	}
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("envelope: encode payload: %w", err)
	}
	return b, nil
}

// DecodePayload decodes a payload into v (a pointer to a command struct).
func DecodePayload(payload []byte, v any) error {
	if err := decMode.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("envelope: decode payload: %w", err)
	}
	return nil
}

// Encode encodes the log value of env (everything but Seq).
func Encode(env *Envelope) ([]byte, error) {
	b, err := encMode.Marshal(record{
		Format: formatVersion, Name: env.Name, Version: env.Version, ID: env.ID,
		Time: env.Time.UnixNano(), Actor: env.Actor, Cause: env.Cause, Payload: env.Payload, KeyExp: unixNano(env.KeyExpires),
		Imported: env.ImportedBy,
	})
	if err != nil {
		return nil, fmt.Errorf("envelope: encode envelope: %w", err)
	}
	return b, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Decode decodes the log value stored at seq.
func Decode(seq uint64, data []byte) (Envelope, error) {
	var r record
	if err := decMode.Unmarshal(data, &r); err != nil {
		return Envelope{}, fmt.Errorf("envelope: log entry %d: %w", seq, err)
	}
	if r.Format != formatVersion {
		return Envelope{}, fmt.Errorf("envelope: log entry %d: format version %d, this build reads %d", seq, r.Format, formatVersion)
	}
	if r.Name == "" {
		return Envelope{}, fmt.Errorf("envelope: log entry %d: no command name", seq)
	}
	return Envelope{
		Seq: seq, ID: r.ID, Name: r.Name, Version: r.Version, Time: time.Unix(0, r.Time).UTC(),
		Actor: r.Actor, Cause: r.Cause, Payload: []byte(r.Payload), KeyExpires: fromUnixNano(r.KeyExp),
		ImportedBy: r.Imported,
	}, nil
}

// PayloadJSON renders a payload as a JSON object, without its Go type: log
// entries of commands this build no longer knows still render. Byte strings
// become base64 strings, as encoding/json renders []byte.
func PayloadJSON(payload []byte) ([]byte, error) {
	var m map[string]any
	if err := decMode.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("envelope: payload: %w", err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("envelope: payload to JSON: %w", err)
	}
	return b, nil
}

// envelopeJSON is the JSON form of an envelope: `imago log dump` and
// GET /v1/log write one per line.
type envelopeJSON struct {
	Seq     uint64    `json:"seq"`
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Version uint32    `json:"version"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor,omitempty"`
	Cause   string    `json:"cause,omitempty"`
	// KeyExpires is set when id is the submitter's idempotency key.
	KeyExpires time.Time       `json:"key_expires,omitzero"`
	ImportedBy string          `json:"imported_by,omitempty"`
	Payload    json.RawMessage `json:"payload"`
	// Upcast from: the stored name and version, when an upcaster changed
	// the entry; Retired: why it retired it.
	StoredName    string `json:"stored_name,omitempty"`
	StoredVersion uint32 `json:"stored_version,omitempty"`
	Retired       string `json:"retired,omitempty"`
}

// MarshalJSON renders the envelope with its payload decoded (PayloadJSON):
// a JSON object that decodes back into the command's Go type.
func (e Envelope) MarshalJSON() ([]byte, error) {
	payload, err := PayloadJSON(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("envelope: log entry %d: %w", e.Seq, err)
	}
	j := envelopeJSON{Seq: e.Seq, ID: e.ID, Name: e.Name, Version: e.Version, Time: e.Time,
		Actor: e.Actor, Cause: e.Cause, KeyExpires: e.KeyExpires, ImportedBy: e.ImportedBy, Payload: payload, Retired: e.Retired}
	if e.Stored != nil {
		j.StoredName, j.StoredVersion = e.Stored.Name, e.Stored.Version
	}
	return json.Marshal(j)
}
