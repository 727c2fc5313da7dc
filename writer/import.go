package writer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/wal"
)

// Import brings a piece of another system's history into the log: the
// commands with their original times, actors and ids (commands.Import), in
// the order given, recorded as imported by importer (envelope.ImportedBy).
// Each is validated and applied as a live command is; the import is all or
// nothing: one refusal, or one time out of order, and nothing is applied,
// with a *commands.ImportError naming the item. Times must not go
// backwards, must not precede the log's last entry (the log stays in time
// order, which AS OF relies on) and must not be ahead of the clock (the
// next live command would go back in time). The import is applied and
// logged as one batch, alone: nothing else comes between its commands. It
// returns each command's seq and result.
func (p *Writer) Import(ctx context.Context, items []commands.Import, importer string) ([]commands.Result, error) {
	if len(items) == 0 {
		return nil, nil
	}
	group := make([]*pending, len(items))
	now := p.cfg.Now().UTC()
	for i, it := range items {
		var prev time.Time
		if i > 0 {
			prev = items[i-1].Time
		}
		pd, err := p.prepareImport(it, importer, prev, now)
		if err != nil {
			return nil, &commands.ImportError{Item: i, Command: commandName(p.cfg.Registry, it.Command), ID: it.Meta.ID, Err: err}
		}
		group[i] = pd
	}
	if err := p.enqueue(ctx, group); err != nil {
		return nil, err
	}
	select {
	case <-group[len(group)-1].done: // the group is one batch: its last is answered last
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for _, pd := range group {
		if pd.Err != nil && !errors.Is(pd.Err, errImportRefused) {
			return nil, pd.Err // the refused item's *ImportError, or why nothing was accepted
		}
	}
	results := make([]commands.Result, len(group))
	for i, pd := range group {
		results[i] = commands.Result{Seq: pd.Env.Seq, Value: pd.Result}
	}
	return results, nil
}

func commandName(reg *commands.Registry, cmd commands.Command) string {
	if def, err := reg.Of(cmd); err == nil {
		return def.Name
	}
	return fmt.Sprintf("%T", cmd)
}

// prepareImport checks one imported command on its own (registered,
// Validate, its time against the one before it and the clock) and stamps
// its envelope with its original metadata.
func (p *Writer) prepareImport(it commands.Import, importer string, prev, now time.Time) (*pending, error) {
	def, err := p.cfg.Registry.Of(it.Command)
	if err != nil {
		return nil, err
	}
	if err := it.Command.Validate(); err != nil {
		return nil, &commands.InvalidError{Command: def.Name, Err: err}
	}
	at := it.Time.UTC()
	switch {
	case at.IsZero():
		return nil, &commands.TimeError{Time: at, Reason: "is missing: an imported command keeps its original time"}
	case !at.Equal(at.Truncate(time.Microsecond)):
		return nil, &commands.TimeError{Time: at, Reason: "is finer than a microsecond (what DATETIME(6) holds): round it at the source"}
	case at.Before(prev):
		return nil, &commands.TimeError{Time: at, Reason: fmt.Sprintf("is before the previous item's (%s): times must not go backwards", prev.UTC().Format(time.RFC3339Nano))}
	case at.After(now):
		return nil, &commands.TimeError{Time: at, Reason: fmt.Sprintf("is after the clock (%s): a history is in the past, and the next live command would go back in time", now.Format(time.RFC3339Nano))}
	}
	if it.Meta.ID != "" {
		if err := commands.CheckKey(it.Meta.ID); err != nil {
			return nil, &commands.InvalidError{Command: def.Name, Err: fmt.Errorf("id: %w", err)}
		}
	}
	payload, err := envelope.EncodePayload(it.Command)
	if err != nil {
		return nil, err
	}
	env := envelope.Envelope{ID: it.Meta.ID, Name: def.Name, Version: def.Version, Actor: it.Meta.Actor, Cause: it.Meta.Cause,
		Time: at, ImportedBy: importer, Payload: payload}
	if env.ID == "" {
		env.ID = uuid.NewString()
	}
	if env.Actor == "" {
		env.Actor = importer
	}
	value, err := envelope.Encode(&env)
	if err != nil {
		return nil, err
	}
	return &pending{Entry: applier.Entry{Env: env, Cmd: it.Command}, value: value, imported: true, importID: it.Meta.ID, done: make(chan struct{})}, nil
}

// errImportRefused marks the items of an import that another item's
// refusal stopped.
var errImportRefused = errors.New("another command of the import was refused")

// importAll applies an import's batch all or nothing (applier.BatchAll),
// after checking that it does not begin before the log's last entry.
func (p *Writer) importAll(batch []*pending) []*pending {
	refuse := func(i int, err error) []*pending {
		for j, pd := range batch {
			pd.Err = errImportRefused
			if j == i {
				pd.Err = &commands.ImportError{Item: i, Command: pd.Env.Name, ID: pd.importID, Err: err}
			}
		}
		return nil
	}
	if first := batch[0].Env.Time; first.Before(p.lastTime) {
		return refuse(0, &commands.TimeError{Time: first, Reason: fmt.Sprintf(
			"is before the log's last entry (seq %d at %s): an import continues the log, it cannot go before it",
			p.lastSeq, p.lastTime.Format(time.RFC3339Nano))})
	}
	entries := make([]*applier.Entry, len(batch))
	for i, pd := range batch {
		entries[i] = &pd.Entry
	}
	refused, err := applier.BatchAll(p.cfg.Image, entries, p.lastSeq)
	switch {
	case err != nil:
		p.cfg.Logger.Error("image commit failed", "err", err)
		p.failAll(batch, err)
		return nil
	case refused >= 0:
		return refuse(refused, entries[refused].Err)
	}
	return batch
}

// noteTimes keeps the latest envelope time in the log (the writer
// goroutine's), once a batch is logged, whatever its path (live, import,
// replica): live commands are raised to it (ordered) and an import may not
// begin before it.
func (p *Writer) noteTimes(applied []*pending) {
	for _, pd := range applied {
		if pd.Env.Time.After(p.lastTime) {
			p.lastTime = pd.Env.Time
		}
	}
}

// lastEntryTime is the time of the log's entry at seq (zero: none).
func lastEntryTime(log *wal.Log, seq uint64) (time.Time, error) {
	if seq == 0 || seq < log.FirstSeq() {
		return time.Time{}, nil
	}
	var at time.Time
	err := log.ReadValues(seq, seq, func(s uint64, v []byte) error {
		env, err := envelope.Decode(s, v)
		at = env.Time
		return err
	})
	return at, err
}
