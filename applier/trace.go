package applier

import (
	"fmt"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// Trace applies one logged entry in a transaction of its own and returns
// the rows it changed (memdb.Txn.Changes), as replay would apply it: the
// same idempotency-key bookkeeping, a refusal leaving no trace (e.Err
// says why). It is replay's step, one command at a time, for tools that
// compare what each command did (imago replay --digests).
func Trace(image *memdb.Image, e *Entry) ([]memdb.Change, error) {
	if e.Err != nil {
		return nil, nil
	}
	tx := image.Txn()
	if _, err := apply(tx, &keyExpiry{}, e, false); err != nil {
		tx.Abort()
		e.Err = &commands.RefusedError{Command: e.Env.Name, Err: err}
		return nil, nil
	}
	if e.Err != nil {
		tx.Abort()
		return nil, nil
	}
	changes := tx.Changes()
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("applier: image commit: %w", err)
	}
	return changes, nil
}

// TraceBatch applies logged entries as replay does (Batch, in one
// transaction) and returns the rows each changed, by position in batch
// (nil for an entry not applied: e.Err says why): Trace's answer at
// replay's speed, for imago.changes.
func TraceBatch(image *memdb.Image, batch []*Entry) ([][]memdb.Change, error) {
	_, changes, err := runBatch(image, batch, 0, false, true)
	return changes, err
}
