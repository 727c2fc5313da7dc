package imago

import (
	"context"
	"fmt"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// What changed: the rows each command of a range changed, computed by
// replaying the range from the state before it in batches of commands, one
// transaction each, as replay does (applier.TraceBatch), the transaction
// recording each command's row changes (memdb.Txn.Track).

// changesBatch is the commands replayed per transaction by Changes: fn
// is called once a batch is applied, so a consumer that stops early (a
// LIMIT) costs at most a batch more.
const changesBatch = 1024

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
	batch := make([]*applier.Entry, 0, changesBatch)
	flush := func() error {
		changes, err := applier.TraceBatch(image, batch)
		if err != nil {
			return err
		}
		for i, e := range batch {
			if len(changes[i]) > 0 {
				if err := fn(e.Env, changes[i]); err != nil {
					return err
				}
			}
		}
		batch = batch[:0]
		return nil
	}
	err = log.Read(from, to, func(env envelope.Envelope) error {
		if batch = append(batch, applier.Decode(db.registry, env)); len(batch) == changesBatch {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
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
