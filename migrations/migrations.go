// Package migrations changes old log entries into the current form of their
// commands: an app declares upcasters (App.Upcasters), each taking one
// (command, version) to the next, and a Chain applies them in the one
// decode step every reader of the log shares (envelope.Log.WithUpcaster):
// replay, reactors, imago.commands, GET /v1/log, the offline tools, and
// submissions of clients still sending an old version.
//
// Guarantees:
//   - An entry of a current (command, version) is returned untouched, and
//     cheaply: no payload is decoded.
//   - A chain is deterministic: the same entry always gives the same
//     result, and a retired entry is retired with its reason.
//   - NewChain refuses two upcasters of one (command, version), a cycle,
//     and a step to a version newer than the command's current one.
//   - Check names the first missing upcaster of an entry that has no path
//     to a current definition.
package migrations

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
)

// Upcaster takes the entries of one command at one version to their next
// form. Build one with Up, Rename or Retire, or fill in the fields.
type Upcaster struct {
	Command string // the command's name in the entries it reads
	Version uint32 // the version it reads; Retire: 0 retires every version
	// ToCommand is the name afterwards ("": Command, unchanged).
	ToCommand string
	// ToVersion is the version afterwards (0: Version+1).
	ToVersion uint32
	// Func changes the payload, a map by the command's JSON field names, to
	// the next version's fields (nil: the payload is unchanged). It must be
	// deterministic: read nothing but the payload.
	Func func(payload map[string]any) error
	// Retired, if not empty, retires the entries: readers that apply
	// commands skip them, and this is the reason they see.
	Retired string
}

// Up upcasts the payload of command from version from to from+1 with fn.
func Up(command string, from uint32, fn func(payload map[string]any) error) Upcaster {
	return Upcaster{Command: command, Version: from, Func: fn}
}

// Rename reads the entries of command at version as command to at the same
// version (payload unchanged).
func Rename(command string, version uint32, to string) Upcaster {
	return Upcaster{Command: command, Version: version, ToCommand: to, ToVersion: version}
}

// Retire retires the entries of command at version (0: every version),
// with a reason: they map to nothing.
func Retire(command string, version uint32, reason string) Upcaster {
	return Upcaster{Command: command, Version: version, Retired: reason}
}

type key struct {
	name    string
	version uint32
}

func (k key) String() string { return fmt.Sprintf("%s v%d", k.name, k.version) }

// Chain applies an app's upcasters: it implements envelope.Upcaster.
type Chain struct {
	current map[string]uint32 // command name → current version
	steps   map[key]*Upcaster
	retired map[string]*Upcaster // Retire with version 0
	maxLen  int
	// paths are the steps from each (command, version) an upcaster reads,
	// followed once in NewChain: following them per entry allocated the
	// step list every time.
	paths map[key][]*Upcaster
}

var _ envelope.Upcaster = (*Chain)(nil)

// NewChain checks the upcasters against the app's current commands.
func NewChain(registry *commands.Registry, ups []Upcaster) (*Chain, error) {
	c := &Chain{current: map[string]uint32{}, steps: map[key]*Upcaster{}, retired: map[string]*Upcaster{}, maxLen: len(ups) + 1}
	for _, d := range registry.Definitions() {
		c.current[d.Name] = d.Version
	}
	for i := range ups {
		u := ups[i]
		if u.Command == "" {
			return nil, fmt.Errorf("migrations: upcaster %d names no command", i+1)
		}
		if u.Retired != "" {
			if u.Func != nil || u.ToCommand != "" {
				return nil, fmt.Errorf("migrations: the upcaster retiring %s also changes it: a retired entry maps to nothing", u.Command)
			}
			if u.Version == 0 {
				if c.retired[u.Command] != nil {
					return nil, fmt.Errorf("migrations: %s is retired twice", u.Command)
				}
				c.retired[u.Command] = &u
				continue
			}
		}
		if u.Version == 0 {
			return nil, fmt.Errorf("migrations: the upcaster of %s needs the version it reads", u.Command)
		}
		if u.ToCommand == "" {
			u.ToCommand = u.Command
		}
		if u.ToVersion == 0 {
			u.ToVersion = u.Version + 1
		}
		k := key{u.Command, u.Version}
		if c.steps[k] != nil {
			return nil, fmt.Errorf("migrations: two upcasters of %s", k)
		}
		if cur, ok := c.current[u.Command]; ok && u.Retired == "" && u.Version >= cur && u.ToCommand == u.Command {
			return nil, fmt.Errorf("migrations: an upcaster of %s, but %s is at version %d: upcasters read older versions", k, u.Command, cur)
		}
		if cur, ok := c.current[u.ToCommand]; ok && u.Retired == "" && u.ToVersion > cur {
			return nil, fmt.Errorf("migrations: the upcaster of %s gives %s, but %s is at version %d", k, key{u.ToCommand, u.ToVersion}, u.ToCommand, cur)
		}
		c.steps[k] = &u
	}
	c.paths = map[key][]*Upcaster{}
	for k := range c.steps { // every path ends: no cycle
		steps, _, err := c.path(k)
		if errors.Is(err, errCycle) {
			return nil, fmt.Errorf("migrations: the upcasters from %s form a cycle", k)
		}
		c.paths[k] = steps
	}
	return c, nil
}

var errCycle = errors.New("cycle")

// path follows the steps from k: the steps taken and where they end.
func (c *Chain) path(k key) (steps []*Upcaster, end key, err error) {
	for n := 0; ; n++ {
		if n > c.maxLen {
			return nil, k, errCycle
		}
		if r := c.retired[k.name]; r != nil {
			return append(steps, r), k, nil
		}
		if v, ok := c.current[k.name]; ok && v == k.version {
			return steps, k, nil
		}
		s := c.steps[k]
		if s == nil {
			return steps, k, nil
		}
		steps = append(steps, s)
		if s.Retired != "" {
			return steps, k, nil
		}
		k = key{s.ToCommand, s.ToVersion}
	}
}

// Upcast brings env to the current version of its command (see
// envelope.Upcaster). An entry with no path to a current definition is
// left where its path ends.
func (c *Chain) Upcast(env *envelope.Envelope) (bool, error) {
	if v, ok := c.current[env.Name]; ok && v == env.Version && c.retired[env.Name] == nil {
		return true, nil // the common case: nothing to do
	}
	k := key{env.Name, env.Version}
	steps, ok := c.paths[k]
	var err error
	if !ok { // a retired command's, or no path
		if steps, _, err = c.path(k); err != nil || len(steps) == 0 {
			return true, err
		}
	}
	var payload map[string]any
	for _, s := range steps {
		if s.Retired != "" {
			env.Retired = s.Retired
			return false, nil
		}
		if s.Func != nil {
			if payload == nil {
				if payload, err = envelope.DecodePayloadMap(env.Payload); err != nil {
					return false, err
				}
			}
			if err := s.Func(payload); err != nil {
				return false, fmt.Errorf("upcaster of %s: %w", key{s.Command, s.Version}, err)
			}
		}
		env.Name, env.Version = s.ToCommand, s.ToVersion
	}
	if payload != nil {
		// Payload stays the upcast form's bytes for every reader; the map
		// goes along, so that the command's decoder need not decode them.
		if env.Payload, err = envelope.EncodePayload(payload); err != nil {
			return false, err
		}
		env.PayloadMap = payload
	}
	return true, nil
}

// MissingUpcasterError is a log entry with no path to a current
// definition: the first one in the log (Seq) of its (command, version).
type MissingUpcasterError struct {
	Seq     uint64
	Command string
	Version uint32
	// At is where its path ends: the (command, version) that needs an
	// upcaster (or a definition).
	AtCommand string
	AtVersion uint32
	Current   uint32 // AtCommand's current version (0: no such command)
}

func (e *MissingUpcasterError) Error() string {
	where := fmt.Sprintf("log entry %d is %s v%d", e.Seq, e.Command, e.Version)
	if e.AtCommand != e.Command || e.AtVersion != e.Version {
		where += fmt.Sprintf(", upcast to %s v%d", e.AtCommand, e.AtVersion)
	}
	if e.Current == 0 {
		return fmt.Sprintf("%s, and the app defines no command %s: define it, rename it (migrations.Rename) or retire it (migrations.Retire) in App.Upcasters", where, e.AtCommand)
	}
	return fmt.Sprintf("%s, and %s is at version %d: the app lacks the upcaster of %s v%d (migrations.Up(%q, %d, ...) in App.Upcasters)",
		where, e.AtCommand, e.Current, e.AtCommand, e.AtVersion, e.AtCommand, e.AtVersion)
}

// Check tells whether entries of (command, version) reach a current
// definition (or are retired); seq is the first entry's, for the error.
func (c *Chain) Check(seq uint64, command string, version uint32) error {
	steps, end, err := c.path(key{command, version})
	if err != nil {
		return err
	}
	if len(steps) > 0 && steps[len(steps)-1].Retired != "" {
		return nil
	}
	if v, ok := c.current[end.name]; ok && v == end.version {
		return nil
	}
	return &MissingUpcasterError{Seq: seq, Command: command, Version: version, AtCommand: end.name, AtVersion: end.version, Current: c.current[end.name]}
}

// Current is the current version of each command of the app.
func (c *Chain) Current() map[string]uint32 { return maps.Clone(c.current) }

// Describe lists the upcasters, one line each, sorted.
func (c *Chain) Describe() []string {
	var out []string
	for k, s := range c.steps {
		switch {
		case s.Retired != "":
			out = append(out, fmt.Sprintf("%s: retired (%s)", k, s.Retired))
		default:
			out = append(out, fmt.Sprintf("%s -> %s", k, key{s.ToCommand, s.ToVersion}))
		}
	}
	for n, r := range c.retired {
		out = append(out, fmt.Sprintf("%s (every version): retired (%s)", n, r.Retired))
	}
	sort.Strings(out)
	return slices.Clip(out)
}

// Int reads an integer field of a payload map (CBOR integers decode as
// int64 or uint64; a JSON-born value may be a float64 without fraction).
func Int(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= 1<<63-1 {
			return int64(x), true
		}
	case int:
		return int64(x), true
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	}
	return 0, false
}
