// Package applier applies commands to an image: the decoded entries of a
// log on replay (at start, in verification, and tomorrow on replicas, for
// past states and for replay diffs), and the writer's accepted commands on
// the live path. Both go through the same code, so that a replay of the log
// rebuilds exactly the image the writer published.
//
// Guarantees:
//   - A command whose Apply fails (or panics) leaves no trace in the image:
//     its batch is applied again without it, and Apply being deterministic,
//     the others have the same effects.
//   - Idempotency keys (IdempotencyKeys) are remembered and expired by
//     envelope time only, so the keys after seq N are a function of the log
//     up to N, however the commands were batched.
//   - Replay applies entries in seq order; an entry whose command fails is
//     reported and skipped, or, in strict mode, ends the replay with an
//     error naming its seq.
package applier

import (
	"fmt"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// Entry is one command on its way into the image: a decoded log entry on
// replay, an accepted submission on the live path.
type Entry struct {
	Env envelope.Envelope
	Cmd commands.Command // nil when Err says why the entry has no command
	// Result is what Apply returned (the original's result, as JSON, when
	// Replayed).
	Result any
	// Err is why the entry was not applied: it did not decode, its key
	// conflicts, or a *commands.RefusedError.
	Err error
	// Replayed: an earlier command had the idempotency key; Env.Seq and
	// Result are its, and nothing was applied.
	Replayed bool
}

// Decode turns an envelope back into an entry with its command. An
// envelope this build cannot decode is an entry with Err set: a failed
// command on replay.
func Decode(registry *commands.Registry, env envelope.Envelope) *Entry {
	e := &Entry{Env: env}
	def, ok := registry.Lookup(env.Name)
	if !ok {
		e.Err = fmt.Errorf("%w: %q is not registered in this build", commands.ErrUnknownCommand, env.Name)
		return e
	}
	e.Cmd, e.Err = def.DecodeEnvelope(&e.Env)
	return e
}

// Batch applies the entries without Err in one image transaction and
// commits it, returning those applied, in order. A command whose Apply
// fails gets a *commands.RefusedError and leaves no trace: the transaction
// is aborted and the others are applied again without it.
//
// Live (the writer): the applied entries get consecutive seqs after after,
// and a keyed entry whose key is remembered is answered from it (Replayed)
// instead of applied. Otherwise (replay) the seqs are the log's.
func Batch(image *memdb.Image, batch []*Entry, after uint64, live bool) ([]*Entry, error) {
	applied, _, err := runBatch(image, batch, after, live, false)
	return applied, err
}

// runBatch is Batch; track: also what each entry changed (by position in
// batch; nil for those not applied).
func runBatch(image *memdb.Image, batch []*Entry, after uint64, live, track bool) ([]*Entry, [][]memdb.Change, error) {
	for {
		tx := image.Txn()
		keys := &keyExpiry{}
		var changes [][]memdb.Change
		if track {
			tx.Track()
			changes = make([][]memdb.Change, len(batch))
		}
		seq := after
		applied := make([]*Entry, 0, len(batch))
		refused := false
		for i, e := range batch {
			if e.Err != nil {
				continue
			}
			e.Replayed = false
			if live {
				e.Env.Seq = seq + 1
			}
			mark := tx.Mark()
			done, err := apply(tx, keys, e, live)
			if err != nil {
				e.Err = &commands.RefusedError{Command: e.Env.Name, Err: err}
				refused = true
				break
			}
			if done {
				seq = e.Env.Seq
				applied = append(applied, e)
				if track {
					changes[i] = tx.ChangesSince(mark)
				}
			}
		}
		if refused {
			tx.Abort()
			continue
		}
		if err := tx.Commit(); err != nil {
			// Only the row-count bookkeeping can fail here: a bug, not input.
			return nil, nil, fmt.Errorf("applier: image commit: %w", err)
		}
		return applied, changes, nil
	}
}

// apply applies one entry in tx and remembers its key. It reports whether
// the command was applied (not answered from its key) and Apply's refusal.
// A conflicting key is e.Err, not a refusal: nothing was applied.
func apply(tx *memdb.Txn, keys *keyExpiry, e *Entry, live bool) (applied bool, err error) {
	if err := keys.expire(tx, e.Env.Time); err != nil {
		return false, err
	}
	keyed := !e.Env.KeyExpires.IsZero()
	if keyed && live {
		seq, result, found, err := previous(tx, &e.Env)
		switch {
		case err != nil:
			e.Err = err
			return false, nil
		case found:
			e.Env.Seq, e.Result, e.Replayed = seq, result, true
			return false, nil
		}
	}
	result, err := Apply(e.Cmd, tx, &e.Env)
	if err != nil {
		return false, err
	}
	if keyed {
		if err := remember(tx, &e.Env, result); err != nil {
			return false, err
		}
		keys.remembered(e.Env.KeyExpires)
	}
	e.Result = result
	return true, nil
}

// Apply runs cmd's Apply, turning a panic into a refusal: a bug in one
// command must not take the writer (or a replay) down.
func Apply(cmd commands.Command, tx *memdb.Txn, env *envelope.Envelope) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in Apply: %v", r)
		}
	}()
	return cmd.Apply(tx, env)
}
