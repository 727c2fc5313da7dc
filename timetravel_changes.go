package imago

import (
	"context"
	"fmt"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// What changed: the rows each command of a range changed, computed by
// replaying the range from the state before it, one command per
// transaction (applier.Trace, the step `imago replay --digests` takes),
// and reading each transaction's changes before it commits.

// Changes replays the commands from..to (durable, from >= 1) from the
// state at from-1 and calls fn with each one's envelope (upcast, as
// replay applies it) and the rows it changed, in seq order. A command
// that changed nothing, was refused on replay or was retired by the
// app's upcasters gets no call. fn's error ends the replay and is
// returned. Once the whole range is replayed, the state at to is cached
// as a past state: a query of the range's end that follows is free.
func (db *DB) Changes(ctx context.Context, from, to uint64, fn func(env envelope.Envelope, changes []memdb.Change) error) error {
	if from < 1 || from > to {
		return fmt.Errorf("imago: changes of seq %d..%d: want 1 <= from <= to", from, to)
	}
	if err := db.past.reachable(to); err != nil {
		return err
	}
	base, err := db.past.viewAt(ctx, from-1)
	if err != nil {
		return err
	}
	ctx, done, err := db.past.begin(ctx)
	if err != nil {
		return err
	}
	defer done()
	image, err := db.app.newImage()
	if err != nil {
		return err
	}
	image.Reset(base.Snapshot)
	log := envelope.NewLog(ctxValues{ctx, db.log}).WithUpcaster(db.upcaster)
	err = log.Read(from, to, func(env envelope.Envelope) error {
		e := applier.Decode(db.registry, env)
		changes, err := applier.Trace(image, e)
		if err != nil || len(changes) == 0 {
			return err
		}
		return fn(env, changes)
	})
	if err != nil {
		return fmt.Errorf("imago: changes of seq %d..%d: %w", from, to, err)
	}
	db.past.keep(image.Snapshot(), to)
	return nil
}

// begin registers a reader of the log that close must wait for: its
// context ends when ctx does or the database closes; done unregisters it.
func (p *pastStates) begin(ctx context.Context) (context.Context, func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, fmt.Errorf("imago: the database is closed")
	}
	p.building.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(p.life, cancel)
	return ctx, func() {
		stop()
		cancel()
		p.building.Done()
	}, nil
}
