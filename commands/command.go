// Package commands turns typed requests into durable changes of the image.
//
// A Command is an application's typed, named, versioned request. The
// Processor is the single writer: it applies commands to the image in
// arrival order, logs the successful ones (wal), and publishes the new image
// only after the log is durable. Its invariant, checked by the tests: the
// published image equals the replay of the durable log. Reactors run side
// effects for the durable commands, at least once, never on replay.
package commands

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"

	"github.com/imagodb/imago/memdb"
)

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

// Errors the Processor returns. Use errors.Is / errors.As.
var (
	// ErrUnknownCommand: no command of that name or type is registered.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrNotAccepting: the processor is closed or failed stop; nothing is written.
	ErrNotAccepting = errors.New("not accepting writes")
)

// InvalidError is a command that failed its Validate.
type InvalidError struct {
	Command string
	Err     error
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%s: %v", e.Command, e.Err) }
func (e *InvalidError) Unwrap() error { return e.Err }

// RefusedError is a command whose Apply returned an error: it left no trace.
type RefusedError struct {
	Command string
	Err     error
}

func (e *RefusedError) Error() string { return fmt.Sprintf("%s refused: %v", e.Command, e.Err) }
func (e *RefusedError) Unwrap() error { return e.Err }
