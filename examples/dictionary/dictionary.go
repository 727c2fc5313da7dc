// Package dictionary is the classic memory-image example: a dictionary
// changed by two commands, set and add (string append).
package dictionary

import (
	"fmt"
	"unicode/utf8"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// Entry is a row of entries.
type Entry struct {
	Key   string `imago:"key"`
	Value string `imago:"value"`
}

// Entries is the only table.
var Entries = memdb.MustBind[Entry](memdb.MustDefine(memdb.TableDef{
	Name:       "entries",
	Columns:    []memdb.Column{{Name: "key", Type: memdb.Varchar(255)}, {Name: "value", Type: memdb.Text}},
	PrimaryKey: []string{"key"},
}))

// App is the dictionary application (SQL database "dictionary").
func App() *imago.App {
	return &imago.App{
		Name:              "dictionary",
		ProjectionVersion: 1,
		Tables:            []*memdb.Table{Entries.Table()},
		Commands:          []commands.Definition{commands.Define[Set]("set", 1), commands.Define[Add]("add", 1)},
	}
}

// Set sets key to value.
type Set struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Validate implements commands.Command.
func (c *Set) Validate() error { return validKey(c.Key) }

// Apply implements commands.Command.
func (c *Set) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	return put(tx, c.Key, func(string) string { return c.Value })
}

// Add appends value to key's value (an absent key counts as empty).
type Add struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Validate implements commands.Command.
func (c *Add) Validate() error { return validKey(c.Key) }

// Apply implements commands.Command.
func (c *Add) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	return put(tx, c.Key, func(old string) string { return old + c.Value })
}

func put(tx *memdb.Txn, key string, value func(old string) string) (any, error) {
	e, found, err := Entries.Get(tx, key)
	if err != nil {
		return nil, err
	}
	e.Key, e.Value = key, value(e.Value)
	if found {
		err = Entries.Update(tx, e)
	} else {
		err = Entries.Insert(tx, e)
	}
	return Result{Value: e.Value}, err
}

// Result is what set and add answer: the key's value now. A struct, not a
// map: encoding/json writes it without sorting keys by reflection, which
// was 4% of the server's CPU of an HTTP set (profile of bench/peers).
type Result struct {
	Value string `json:"value"`
}

func validKey(k string) error {
	if k == "" {
		return fmt.Errorf("key is required")
	}
	if n := utf8.RuneCountInString(k); n > 255 {
		return fmt.Errorf("key has %d characters, at most 255", n)
	}
	return nil
}
