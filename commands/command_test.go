package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

type noteCmd struct {
	Text string `json:"text"`
	N    int64  `json:"n"`
}

func (*noteCmd) Validate() error                          { return nil }
func (*noteCmd) Apply(*memdb.Txn, *Envelope) (any, error) { return nil, nil }

type otherCmd struct{ noteCmd }

// TestRegistry: a registry holds distinct, valid names and types, and
// finds a definition by name and by value.
func TestRegistry(t *testing.T) {
	for _, c := range []struct {
		name string
		defs []Definition
		want string // "" : accepted
	}{
		{"one", []Definition{Define[noteCmd]("note", 1)}, ""},
		{"two", []Definition{Define[noteCmd]("note", 1), Define[otherCmd]("other", 2)}, ""},
		{"upper case", []Definition{Define[noteCmd]("Note", 1)}, `name "Note"`},
		{"empty name", []Definition{Define[noteCmd]("", 1)}, `name ""`},
		{"too long", []Definition{Define[noteCmd](strings.Repeat("x", 65), 1)}, "at most 64"},
		{"twice", []Definition{Define[noteCmd]("note", 1), Define[otherCmd]("note", 1)}, "defined twice"},
		{"shared type", []Definition{Define[noteCmd]("a", 1), Define[noteCmd]("b", 1)}, "share the type"},
		{"not from Define", []Definition{{Name: "raw", Version: 1}}, "not declared with Define"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewRegistry(c.defs...)
			if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	r, err := NewRegistry(Define[otherCmd]("other", 2), Define[noteCmd]("note", 1))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := r.Lookup("note"); !ok || d.Version != 1 {
		t.Fatalf("Lookup(note): %+v %v", d, ok)
	}
	if d, err := r.Of(&otherCmd{}); err != nil || d.Name != "other" {
		t.Fatalf("Of(*otherCmd): %+v %v", d, err)
	}
	type stray struct{ noteCmd }
	if _, err := r.Of(&stray{}); !errors.Is(err, ErrUnknownCommand) {
		t.Fatalf("Of(unregistered): %v, want ErrUnknownCommand", err)
	}
	if names := []string{r.Definitions()[0].Name, r.Definitions()[1].Name}; names[0] != "note" || names[1] != "other" {
		t.Fatalf("Definitions not by name: %v", names)
	}
}

// TestDecode: a logged payload decodes into a new command of its
// definition's type; one of another shape is an error naming the command.
func TestDecode(t *testing.T) {
	r, _ := NewRegistry(Define[noteCmd]("note", 1))
	d, _ := r.Lookup("note")
	payload, err := envelope.EncodePayload(&noteCmd{Text: "hi", N: -3})
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := d.Decode(payload)
	if err != nil || !reflect.DeepEqual(cmd, &noteCmd{Text: "hi", N: -3}) {
		t.Fatalf("Decode: %+v %v", cmd, err)
	}
	bad, _ := envelope.EncodePayload(map[string]any{"n": "not a number"})
	if _, err := d.Decode(bad); err == nil || !strings.Contains(err.Error(), "note") {
		t.Fatalf("Decode of a wrong shape: %v, want an error naming note", err)
	}
}

func TestCheckKey(t *testing.T) {
	for _, c := range []struct {
		key string
		ok  bool
	}{
		{"k-1", true},
		{strings.Repeat("k", MaxKeyLength), true},
		{"", false},
		{strings.Repeat("k", MaxKeyLength+1), false},
		{"tab\there", false},
		{"nul\x00", false},
	} {
		if err := CheckKey(c.key); (err == nil) != c.ok {
			t.Errorf("CheckKey(%q): %v, want ok=%v", c.key, err, c.ok)
		}
	}
}
