package applier

import (
	"fmt"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// BatchAll applies the entries in one image transaction, all or nothing
// (an import of history: a history that does not apply whole is not the
// history given). The entries get consecutive seqs after after. If one's
// Apply fails, it gets a *commands.RefusedError, the transaction is aborted,
// nothing changes and its index is returned; otherwise the transaction
// commits and refused is -1. Keys are expired as on the live path; the
// entries themselves must not be keyed (an imported id is not remembered).
func BatchAll(image *memdb.Image, batch []*Entry, after uint64) (refused int, err error) {
	tx := image.Txn()
	keys := &keyExpiry{}
	for i, e := range batch {
		if e.Err != nil || !e.Env.KeyExpires.IsZero() {
			tx.Abort()
			return 0, fmt.Errorf("applier: BatchAll: entry %d is not an unkeyed command to apply", i)
		}
		e.Env.Seq = after + 1 + uint64(i)
		if _, err := apply(tx, keys, e, true); err != nil {
			e.Err = &commands.RefusedError{Command: e.Env.Name, Err: err}
			tx.Abort()
			return i, nil
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("applier: image commit: %w", err)
	}
	return -1, nil
}
