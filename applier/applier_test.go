package applier_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/wal"
)

// failing refuses (or panics) in Apply, as a command whose code changed.
type failing struct {
	Panic bool `json:"panic"`
}

func (*failing) Validate() error { return nil }
func (f *failing) Apply(*memdb.Txn, *commands.Envelope) (any, error) {
	if f.Panic {
		panic("boom")
	}
	return nil, errors.New("refused")
}

var registry = func() *commands.Registry {
	defs := append(dictionary.App().Commands, commands.Define[failing]("failing", 1))
	r, err := commands.NewRegistry(defs...)
	if err != nil {
		panic(err)
	}
	return r
}()

func newImage(t *testing.T) *memdb.Image {
	t.Helper()
	im, err := memdb.NewImage(dictionary.Entries.Table(), applier.IdempotencyKeys)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func entry(cmd commands.Command, name string, at time.Time) *applier.Entry {
	return &applier.Entry{Env: envelope.Envelope{Name: name, Version: 1, Time: at}, Cmd: cmd}
}

// TestBatchRefusalLeavesNoTrace: a refused (or panicking) command in a
// batch leaves no trace and the others are applied, with consecutive seqs
// after the given one, as if it had never come.
func TestBatchRefusalLeavesNoTrace(t *testing.T) {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		bad  *failing
		want string
	}{
		{"refused", &failing{}, "refused"},
		{"panic", &failing{Panic: true}, "panic in Apply: boom"},
	} {
		t.Run(c.name, func(t *testing.T) {
			im := newImage(t)
			batch := []*applier.Entry{
				entry(&dictionary.Set{Key: "a", Value: "1"}, "set", at),
				entry(c.bad, "failing", at),
				entry(&dictionary.Add{Key: "a", Value: "2"}, "add", at),
			}
			applied, err := applier.Batch(im, batch, 10, true)
			if err != nil {
				t.Fatal(err)
			}
			var refused *commands.RefusedError
			if len(applied) != 2 || !errors.As(batch[1].Err, &refused) || !strings.Contains(batch[1].Err.Error(), c.want) {
				t.Fatalf("applied %d, refusal %v; want 2 applied and %q", len(applied), batch[1].Err, c.want)
			}
			if batch[0].Env.Seq != 11 || batch[2].Env.Seq != 12 {
				t.Fatalf("seqs %d, %d; want 11, 12", batch[0].Env.Seq, batch[2].Env.Seq)
			}
			e, _, _ := dictionary.Entries.Get(im.Snapshot(), "a")
			if e.Value != "12" {
				t.Fatalf("a = %q, want 12", e.Value)
			}
		})
	}
}

// TestReplay: a replay applies the range in order; a command that fails is
// skipped and counted, or, strict, ends the replay naming its seq; and the
// image does not depend on how the log was batched.
func TestReplay(t *testing.T) {
	log, err := wal.Open(t.TempDir(), wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var entries []wal.Entry
	for i, cmd := range []commands.Command{
		&dictionary.Set{Key: "a", Value: "1"}, &dictionary.Add{Key: "a", Value: "2"}, &failing{}, &dictionary.Set{Key: "b", Value: "3"},
	} {
		def, _ := registry.Of(cmd)
		payload, _ := envelope.EncodePayload(cmd)
		env := envelope.Envelope{Name: def.Name, Version: 1, ID: "id", Time: at.Add(time.Duration(i) * time.Second), Payload: payload}
		if i%2 == 0 { // keyed: the keys must replay alike too
			env.ID, env.KeyExpires = "key-"+def.Name, env.Time.Add(90*time.Second)
		}
		value, err := envelope.Encode(&env)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, wal.Entry{Seq: uint64(i + 1), Data: value})
	}
	if err := log.Append(entries, true); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	replay := func(from, to uint64, im *memdb.Image, strict bool) (*memdb.Snapshot, applier.Stats, error) {
		return applier.Replay{Image: im, Registry: registry, Log: envelope.NewLog(log), From: from, To: to, Strict: strict, Logger: quiet}.Run()
	}

	whole, st, err := replay(1, 4, newImage(t), false)
	if err != nil || st.Commands != 4 || st.Skipped != 1 || st.LastSeq != 4 {
		t.Fatalf("replay: %+v %v; want 4 commands, 1 skipped, at seq 4", st, err)
	}
	if _, _, err := replay(1, 4, newImage(t), true); err == nil || !strings.Contains(err.Error(), "seq 3 (failing)") {
		t.Fatalf("strict replay: %v; want an error naming seq 3 (failing)", err)
	}
	// In two ranges (as after a checkpoint at seq 2): the same image.
	im := newImage(t)
	if _, _, err := replay(1, 2, im, false); err != nil {
		t.Fatal(err)
	}
	parts, st, err := replay(3, 4, im, false)
	if err != nil || st.Commands != 2 {
		t.Fatalf("second range: %+v %v", st, err)
	}
	h1, _ := whole.Hash()
	h2, _ := parts.Hash()
	if h1 != h2 {
		t.Fatal("the image depends on how the log was split")
	}
}
