package offline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/offline"
)

// pickySet is the dictionary's set in a later build that refuses key "b":
// a strict replay of a log holding set b fails there.
type pickySet struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (c *pickySet) Validate() error { return nil }

func (c *pickySet) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	if c.Key == "b" {
		return nil, errors.New("b is no longer allowed")
	}
	return (&dictionary.Set{Key: c.Key, Value: c.Value}).Apply(tx, env)
}

// pickyDictionary has the dictionary's fingerprint (names, versions,
// tables) and another set.
func pickyDictionary() *imago.App {
	app := dictionary.App()
	app.Commands = []commands.Definition{commands.Define[pickySet]("set", 1), commands.Define[dictionary.Add]("add", 1)}
	return app
}

// TestVerifyNeverCallsUnverifiedGood: when the replay fails before a
// checkpoint's seq, that checkpoint is reported as not verified, never as
// good, and the error says where the replay failed.
func TestVerifyNeverCallsUnverifiedGood(t *testing.T) {
	dir := t.TempDir()
	db, err := imago.Open(dir, dictionary.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range []string{"a", "b", "c"} {
		if _, err := db.Submit(context.Background(), &dictionary.Set{Key: key, Value: "v"}); err != nil {
			t.Fatal(err)
		}
		if i != 1 {
			if _, err := db.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	verdicts, err := offline.VerifyCheckpoints(dir, dictionary.App())
	if err != nil || len(verdicts) != 2 || verdicts[0].Err != nil || verdicts[1].Err != nil {
		t.Fatalf("the build that wrote them: %+v, %v; want two good checkpoints", verdicts, err)
	}
	verdicts, err = offline.VerifyCheckpoints(dir, pickyDictionary())
	if err == nil || !strings.Contains(err.Error(), "seq 2") {
		t.Fatalf("verify with a build that refuses seq 2: %v; want an error naming seq 2", err)
	}
	if len(verdicts) != 2 || verdicts[1].Err != nil || verdicts[0].Err == nil || !strings.Contains(verdicts[0].Err.Error(), "not verified") {
		t.Fatalf("verdicts %+v: want seq 1 good and seq 3 not verified", verdicts)
	}
}
