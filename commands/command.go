// Package commands is the contract between an application and Imago: the
// Command interface an application's typed, named, versioned requests
// implement, the Registry of an application's definitions, and what a
// submitter says (Meta) and gets back (Result, the errors). It holds no
// machinery: the writer (package writer) applies and logs commands, the
// applier (package applier) replays them, reactors (package reactors) act
// on them.
//
// Guarantees:
//   - A Registry holds distinct, valid names (lower case, digits, _; at most
//     64) and distinct struct types.
//   - Decode builds a command from a logged payload without its Go type
//     having been involved in writing it: payloads are maps by JSON names.
package commands

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"

	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// Envelope is a command with its metadata, as the log holds it (see
// package envelope); Apply receives the command's own.
type Envelope = envelope.Envelope

// Command is a request to change state. Implementations are structs whose
// exported fields, named by their `json` tags, are the command's payload.
type Command interface {
	// Validate checks the command on its own, without state: required
	// fields, ranges, formats. It must not read anything else.
	Validate() error
	// Apply changes the image through tx. It must be deterministic: its only
	// inputs are tx, the command and env (no clock, randomness, I/O or map
	// iteration order). An error refuses the command: whatever Apply wrote is
	// dropped and the error's message reaches the client. The result, which
	// must encode as JSON, is returned to the submitter.
	Apply(tx *memdb.Txn, env *Envelope) (any, error)
}

// Definition names and versions one command type.
type Definition struct {
	Name    string
	Version uint32
	typ     reflect.Type // the struct type; *typ implements Command
}

// Define declares the command type T (with methods on *T) under a name and
// version. The version is bumped when the meaning or payload of the command
// changes; old log entries keep theirs.
func Define[T any, P interface {
	*T
	Command
}](name string, version uint32) Definition {
	return Definition{Name: name, Version: version, typ: reflect.TypeFor[T]()}
}

// New returns a new zero command of the definition's type.
func (d *Definition) New() Command { return reflect.New(d.typ).Interface().(Command) }

// Decode decodes a logged payload into a new command of the definition.
func (d *Definition) Decode(payload []byte) (Command, error) {
	cmd := d.New()
	if err := envelope.DecodePayload(payload, cmd); err != nil {
		return nil, fmt.Errorf("commands: %s: %w", d.Name, err)
	}
	return cmd, nil
}

// DecodeEnvelope decodes a logged entry's payload into a new command of
// the definition: from the upcast payload map when the log's upcaster
// left one (envelope.Envelope.DecodePayload), the same command Decode
// gives for its Payload.
func (d *Definition) DecodeEnvelope(env *envelope.Envelope) (Command, error) {
	cmd := d.New()
	if err := env.DecodePayload(cmd); err != nil {
		return nil, fmt.Errorf("commands: %s: %w", d.Name, err)
	}
	return cmd, nil
}

// Type is the command's struct type.
func (d *Definition) Type() reflect.Type { return d.typ }

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Registry holds an application's command definitions.
type Registry struct {
	byName map[string]*Definition
	byType map[reflect.Type]*Definition
	sorted []*Definition
}

// NewRegistry checks the definitions: valid, distinct names and types.
func NewRegistry(defs ...Definition) (*Registry, error) {
	r := &Registry{byName: map[string]*Definition{}, byType: map[reflect.Type]*Definition{}}
	for i := range defs {
		d := &defs[i]
		if !nameRE.MatchString(d.Name) {
			return nil, fmt.Errorf("commands: name %q: want lower-case letters, digits and _, at most 64", d.Name)
		}
		if d.typ == nil || d.typ.Kind() != reflect.Struct {
			return nil, fmt.Errorf("commands: %s: not declared with Define over a struct type", d.Name)
		}
		if _, dup := r.byName[d.Name]; dup {
			return nil, fmt.Errorf("commands: %s defined twice", d.Name)
		}
		if other, dup := r.byType[d.typ]; dup {
			return nil, fmt.Errorf("commands: %s and %s share the type %s", other.Name, d.Name, d.typ)
		}
		r.byName[d.Name] = d
		r.byType[d.typ] = d
		r.sorted = append(r.sorted, d)
	}
	sort.Slice(r.sorted, func(i, j int) bool { return r.sorted[i].Name < r.sorted[j].Name })
	return r, nil
}

// Lookup finds a definition by name.
func (r *Registry) Lookup(name string) (*Definition, bool) {
	d, ok := r.byName[name]
	return d, ok
}

// Of finds the definition of a command value.
func (r *Registry) Of(cmd Command) (*Definition, error) {
	t := reflect.TypeOf(cmd)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	d, ok := r.byType[t]
	if !ok {
		return nil, fmt.Errorf("%w: type %s is not a registered command", ErrUnknownCommand, t)
	}
	return d, nil
}

// Definitions lists all definitions by name.
func (r *Registry) Definitions() []*Definition { return r.sorted }
