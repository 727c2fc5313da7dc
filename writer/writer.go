// Package writer is the single writer of an image: it takes commands in
// arrival order, applies them (package applier), logs the successful ones
// to the command log (package wal) with group commit, and publishes the new
// image only once the log holds them as the durability mode promises.
//
// Guarantees:
//   - The published image equals the replay of the durable log: readers
//     never see a command the log does not hold.
//   - A refused command leaves no trace: no seq, no log entry, no change.
//   - Seqs are consecutive, without gaps, in the order commands were applied.
//   - Envelope times never decrease with seq (a time resolves to a seq by
//     binary search).
//   - If the log fails to write, the working image is reset to the last
//     published one and every later write is refused (fail-stop) until a
//     restart replays the log.
//   - A keyed command (Meta.ID) is applied once within the idempotency
//     window; a retry gets the original seq and result.
//   - An import of history (Import) is applied and logged whole, as one
//     batch, or not at all; its times do not go backwards and do not
//     precede the log's latest.
package writer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/wal"
)

// Config configures a Writer.
type Config struct {
	// Image is the image to write: it holds the commands 1..StartSeq of Log
	// (loaded from a checkpoint and replayed, see package applier).
	Image      *memdb.Image
	StartSeq   uint64
	Log        *wal.Log
	Registry   *commands.Registry
	Durability Durability
	// MaxBatch bounds the commands applied and logged together. Default 1024.
	MaxBatch int
	// Now is the clock that stamps envelopes at accept. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Observer is told about accepted and refused commands and batches.
	Observer Observer
	// IdempotencyWindow is how long, in envelope time, the key of a command
	// accepted now is remembered (see applier.IdempotencyKeys, which Image
	// must hold). Default 24h.
	IdempotencyWindow time.Duration
	// ReplicaOf, when set, makes this the writer of a read-only replica of
	// that primary (its URL, for messages): submissions are refused, naming
	// it, and Replicate applies the primary's log entries.
	ReplicaOf string
	// Upcaster brings a replicated entry of an older version to its current
	// form, as replay does (nil: none).
	Upcaster envelope.Upcaster
}

// Stats count the writer's work since start.
type Stats struct {
	Commands uint64 // durable commands
	Refused  uint64
	Batches  uint64 // log appends (one fsync each in mode always)
}

// Writer is the single writer of an image.
type Writer struct {
	cfg     Config
	in      chan []*pending // a group: one command, or a batch submitted together
	mu      sync.RWMutex    // guards closed against Submit's send
	closed  bool
	stopped chan struct{}
	failed  atomic.Pointer[error]
	view    atomic.Pointer[commands.View]
	lastSeq uint64 // writer goroutine only (and Start before it)
	// lastTime is the latest envelope time in the log (writer goroutine
	// only): times never decrease with seq (ordered), and an import may not
	// begin before it.
	lastTime  time.Time
	stats     struct{ commands, refused, batches atomic.Uint64 }
	stopBg    chan struct{}
	bgDone    sync.WaitGroup
	closeOnce sync.Once
}

// pending is one command on its way through the writer.
type pending struct {
	applier.Entry
	value []byte // the encoded envelope: the log value
	// logged: a primary's log entry (a replica's writer), with its seq; it
	// is applied as on replay and logged as it is.
	logged bool
	// imported: a command of an import (Import): its group is a batch of
	// its own, applied all or nothing.
	imported bool
	importID string // the id an imported command was given (empty: generated)
	// exclusive: not a command but work run on the writer goroutine
	// between batches (see Exclusive).
	exclusive func(image *memdb.Image, seq uint64) error
	done      chan struct{}
}

// Start starts the writer of an image that holds the log up to StartSeq.
func Start(cfg Config) (*Writer, error) {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1024
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.IdempotencyWindow <= 0 {
		cfg.IdempotencyWindow = commands.DefaultIdempotencyWindow
	}
	if last := cfg.Log.LastSeq(); last != cfg.StartSeq {
		return nil, fmt.Errorf("writer: the image holds the log up to seq %d, the log ends at %d", cfg.StartSeq, last)
	}
	p := &Writer{cfg: cfg, in: make(chan []*pending, 4*cfg.MaxBatch), stopped: make(chan struct{}), stopBg: make(chan struct{}), lastSeq: cfg.StartSeq}
	lastTime, err := lastEntryTime(cfg.Log, cfg.StartSeq)
	if err != nil {
		return nil, fmt.Errorf("writer: the log's last entry: %w", err)
	}
	p.lastTime = lastTime // ordered and imports continue from it
	p.view.Store(commands.NewView(cfg.Image.Snapshot(), p.lastSeq))
	go p.run()
	if cfg.Durability.Mode == Interval {
		p.bgDone.Add(1)
		go p.syncEvery(cfg.Durability.Interval)
	}
	return p, nil
}

// View returns the current published image.
func (p *Writer) View() *commands.View { return p.view.Load() }

// DurableSeq is the last seq on stable storage as far as the durability mode
// promises: in mode always and none the published seq (none promises no
// more than the OS has it), in mode interval the last synced one.
func (p *Writer) DurableSeq() uint64 {
	if p.cfg.Durability.Mode == Interval {
		return min(p.cfg.Log.SyncedSeq(), p.View().Seq)
	}
	return p.View().Seq
}

// Stats reports the writer's counters.
func (p *Writer) Stats() Stats {
	return Stats{Commands: p.stats.commands.Load(), Refused: p.stats.refused.Load(), Batches: p.stats.batches.Load()}
}

// Err is the reason the writer failed stop, or nil.
func (p *Writer) Err() error {
	if e := p.failed.Load(); e != nil {
		return *e
	}
	return nil
}

// Submit validates cmd, stamps its envelope and waits until it is durable
// (or, in mode interval or none, applied and logged). It returns the command's
// seq and result, an *InvalidError, a *RefusedError, or ErrNotAccepting.
// If ctx ends first, Submit returns ctx.Err() and the command may still be applied.
func (p *Writer) Submit(ctx context.Context, cmd commands.Command, meta commands.Meta) (commands.Result, error) {
	pd, err := p.prepare(cmd, meta)
	if err != nil {
		return commands.Result{}, err
	}
	if err := p.enqueue(ctx, []*pending{pd}); err != nil {
		return commands.Result{}, err
	}
	select {
	case <-pd.done:
	case <-ctx.Done():
		return commands.Result{}, ctx.Err()
	}
	return pd.outcome()
}

func (pd *pending) outcome() (commands.Result, error) {
	if pd.Err != nil {
		return commands.Result{}, pd.Err
	}
	return commands.Result{Seq: pd.Env.Seq, Value: pd.Result, Replayed: pd.Replayed}, nil
}

// SubmitAll submits cmds (with metas[i] for cmds[i]) together: they reach
// the writer at once and in order, each is applied or refused on its own,
// and those applied are logged in one append, with one fsync. A command that
// fails Validate gets its error and the others go on. It returns when every
// command has its outcome, or with ctx's error for those that have none yet
// (they may still be applied).
func (p *Writer) SubmitAll(ctx context.Context, cmds []commands.Command, metas []commands.Meta) []commands.Outcome {
	out := make([]commands.Outcome, len(cmds))
	group := make([]*pending, 0, len(cmds))
	at := make([]int, 0, len(cmds)) // at[j]: the index in cmds of group[j]
	for i, cmd := range cmds {
		pd, err := p.prepare(cmd, metas[i])
		if err != nil {
			out[i].Err = err
			continue
		}
		group, at = append(group, pd), append(at, i)
	}
	if len(group) == 0 {
		return out
	}
	if err := p.enqueue(ctx, group); err != nil {
		for _, i := range at {
			out[i].Err = err
		}
		return out
	}
	for j, pd := range group {
		select {
		case <-pd.done:
			out[at[j]].Result, out[at[j]].Err = pd.outcome()
		case <-ctx.Done():
			out[at[j]].Err = ctx.Err()
		}
	}
	return out
}

// prepare checks cmd on its own (registered, Validate) and accepts it.
func (p *Writer) prepare(cmd commands.Command, meta commands.Meta) (*pending, error) {
	def, err := p.cfg.Registry.Of(cmd)
	if err != nil {
		return nil, err
	}
	if err := cmd.Validate(); err != nil {
		p.cfg.Observer.Refused(def.Name)
		return nil, &commands.InvalidError{Command: def.Name, Err: err}
	}
	return p.accept(def, cmd, meta)
}

// accept stamps the envelope and encodes it, in the submitter's goroutine so
// that the writer only applies and logs.
func (p *Writer) accept(def *commands.Definition, cmd commands.Command, meta commands.Meta) (*pending, error) {
	payload, err := envelope.EncodePayload(cmd)
	if err != nil {
		return nil, err
	}
	env := envelope.Envelope{
		ID: meta.ID, Name: def.Name, Version: def.Version, Actor: meta.Actor, Cause: meta.Cause,
		// Microseconds: what DATETIME(6) holds, so a time stored by Apply reads back equal.
		Time:    p.cfg.Now().UTC().Truncate(time.Microsecond),
		Payload: payload,
	}
	if meta.ID != "" {
		if err := commands.CheckKey(meta.ID); err != nil {
			return nil, &commands.InvalidError{Command: def.Name, Err: err}
		}
		env.KeyExpires = env.Time.Add(p.cfg.IdempotencyWindow)
	} else {
		env.ID = uuid.NewString()
	}
	value, err := envelope.Encode(&env)
	if err != nil {
		return nil, err
	}
	return &pending{Entry: applier.Entry{Env: env, Cmd: cmd}, value: value, done: make(chan struct{})}, nil
}

func (p *Writer) enqueue(ctx context.Context, group []*pending) error {
	if p.cfg.ReplicaOf != "" && !group[0].logged {
		return fmt.Errorf("%w: this is a read-only replica; submit commands to its primary, %s", commands.ErrNotAccepting, p.cfg.ReplicaOf)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return fmt.Errorf("%w: the writer is closed", commands.ErrNotAccepting)
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("%w: %w", commands.ErrNotAccepting, err)
	}
	select {
	case p.in <- group:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting commands, finishes those already queued, syncs the
// log and stops the writer. It does not close the log. Safe to call again.
func (p *Writer) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		close(p.in)
		p.mu.Unlock()
		<-p.stopped
		close(p.stopBg)
		p.bgDone.Wait()
	})
	if err := p.Err(); err != nil {
		return err
	}
	return p.cfg.Log.Sync()
}

// run is the writer loop: take what has arrived, up to MaxBatch commands,
// as one batch. A group is never split: a larger one is a batch of its own.
func (p *Writer) run() {
	defer close(p.stopped)
	batch := make([]*pending, 0, p.cfg.MaxBatch)
	var next []*pending // a group that did not fit the last batch
	for {
		if next == nil {
			group, ok := <-p.in
			if !ok {
				return
			}
			next = group
		}
		if next[0].exclusive != nil {
			p.runExclusive(next[0])
			next = nil
			continue
		}
		batch, next = append(batch[:0], next...), nil
	drain:
		for len(batch) < p.cfg.MaxBatch && !batch[0].imported {
			select {
			case group, ok := <-p.in:
				if !ok {
					break drain
				}
				if group[0].exclusive != nil || group[0].imported || len(batch)+len(group) > p.cfg.MaxBatch {
					next = group
					break drain
				}
				batch = append(batch, group...)
			default:
				break drain
			}
		}
		p.process(batch)
	}
}

// process applies, logs and publishes one batch, then answers its submitters.
func (p *Writer) process(batch []*pending) {
	defer func() {
		for _, pd := range batch {
			close(pd.done)
		}
	}()
	if err := p.Err(); err != nil {
		p.failAll(batch, err)
		return
	}
	start := time.Now()
	var applied []*pending
	switch {
	case batch[0].logged:
		applied = p.replicate(batch)
	case batch[0].imported:
		applied = p.importAll(batch)
	default:
		applied = p.apply(batch)
	}
	applyTime := time.Since(start)
	p.observeRefusals(batch)
	if len(applied) == 0 {
		return
	}
	entries := make([]wal.Entry, len(applied))
	for i, pd := range applied {
		entries[i] = wal.Entry{Seq: pd.Env.Seq, Data: pd.value}
	}
	start = time.Now()
	if err := p.cfg.Log.Append(entries, p.cfg.Durability.Mode == Always); err != nil {
		p.failStop(err)
		p.failAll(batch, err) // with the answers of replayed keys: their originals may be in this batch
		return
	}
	logTime := time.Since(start)
	p.lastSeq = applied[len(applied)-1].Env.Seq
	p.noteTimes(applied)
	// Publish only now: readers never see what the log does not hold.
	old := p.view.Swap(commands.NewView(p.cfg.Image.Snapshot(), p.lastSeq))
	old.Supersede()
	p.stats.commands.Add(uint64(len(applied)))
	p.stats.batches.Add(1)
	for _, pd := range applied {
		p.cfg.Observer.Accepted(pd.Env.Name)
	}
	p.cfg.Observer.Batch(len(applied), applyTime, logTime)
}

// observeRefusals reports the commands of batch that Apply refused.
func (p *Writer) observeRefusals(batch []*pending) {
	for _, pd := range batch {
		var refused *commands.RefusedError
		if errors.As(pd.Err, &refused) {
			p.stats.refused.Add(1)
			p.cfg.Observer.Refused(pd.Env.Name)
		}
	}
}

// QueueDepth is the number of submissions (single commands or SubmitAll groups) waiting for the writer.
func (p *Writer) QueueDepth() int { return len(p.in) }

// failStop resets the working image to the last published one and refuses
// all further writes: nothing unlogged becomes visible, and only a restart
// (which replays the log) can tell what reached the disk.
// Writer goroutine only: it owns the working image.
func (p *Writer) failStop(err error) {
	p.cfg.Image.Reset(p.view.Load().Snapshot)
	p.setFailed(err)
}

func (p *Writer) setFailed(err error) {
	err = fmt.Errorf("the command log failed, writes are refused until restart: %w", err)
	if p.failed.CompareAndSwap(nil, &err) {
		p.cfg.Logger.Error("command log failed; refusing writes until restart", "err", err)
	}
}

func (p *Writer) failAll(batch []*pending, err error) {
	for _, pd := range batch {
		if pd.Err == nil {
			pd.Err = fmt.Errorf("%w: %w", commands.ErrNotAccepting, err)
		}
	}
}

// Replicate applies a primary's log entries (values as its log holds
// them, with consecutive seqs after the published one) and logs them as
// they are: a replica's log is a copy of its primary's. An entry whose
// command fails here is skipped, as on replay (a replica of another
// projection may refuse what it does not serve). It returns once the
// entries are logged and published, or with the error that refused them.
func (p *Writer) Replicate(ctx context.Context, seqs []uint64, values [][]byte) error {
	group := make([]*pending, len(values))
	for i, v := range values {
		env, err := envelope.Decode(seqs[i], v)
		if err != nil {
			return err
		}
		e := &applier.Entry{Env: env, Err: errRetired}
		if keep, err := p.upcast(&env); err != nil {
			return err
		} else if keep {
			e = applier.Decode(p.cfg.Registry, env)
		}
		group[i] = &pending{Entry: *e, value: v, logged: true, done: make(chan struct{})}
	}
	if len(group) == 0 {
		return nil
	}
	if err := p.enqueue(ctx, group); err != nil {
		return err
	}
	last := group[len(group)-1]
	select {
	case <-last.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, pd := range group {
		if errors.Is(pd.Err, errReplicaFailed) || errors.Is(pd.Err, commands.ErrNotAccepting) {
			return pd.Err
		}
	}
	return nil
}

// errReplicaFailed marks replicated entries that could not be applied.
var errReplicaFailed = errors.New("replication failed")

// errRetired marks a replicated entry the app's upcasters retired: logged,
// never applied.
var errRetired = errors.New("retired")

// upcast brings env to its current form (keep false: retired).
func (p *Writer) upcast(env *envelope.Envelope) (keep bool, err error) {
	if p.cfg.Upcaster == nil {
		return true, nil
	}
	return p.cfg.Upcaster.Upcast(env)
}

// replicate applies a batch of logged entries on replay's terms: their
// seqs must follow the published one. Those whose command fails are
// skipped (reported) but still logged: the replica's log is the primary's.
func (p *Writer) replicate(batch []*pending) []*pending {
	for i, pd := range batch {
		if want := p.lastSeq + 1 + uint64(i); pd.Env.Seq != want {
			for _, pd := range batch {
				pd.Err = fmt.Errorf("%w: entry seq %d where %d was expected", errReplicaFailed, pd.Env.Seq, want)
			}
			return nil
		}
	}
	entries := make([]*applier.Entry, 0, len(batch))
	for _, pd := range batch {
		if pd.Err == nil {
			entries = append(entries, &pd.Entry)
		}
	}
	if _, err := applier.Batch(p.cfg.Image, entries, 0, false); err != nil {
		p.failAll(batch, err)
		return nil
	}
	for _, pd := range batch {
		if pd.Err != nil && !errors.Is(pd.Err, errRetired) {
			p.cfg.Logger.Warn("replica skipped a command that failed", "seq", pd.Env.Seq, "command", pd.Env.Name, "err", pd.Err)
		}
		pd.Err = nil // logged all the same
	}
	return batch
}

// apply applies the batch (see applier.Batch), assigning seqs after the
// last logged one, and returns the commands applied.
func (p *Writer) apply(batch []*pending) []*pending {
	p.ordered(batch)
	entries := make([]*applier.Entry, len(batch))
	for i, pd := range batch {
		entries[i] = &pd.Entry
	}
	applied, err := applier.Batch(p.cfg.Image, entries, p.lastSeq, true)
	if err != nil {
		p.cfg.Logger.Error("image commit failed", "err", err)
		p.failAll(batch, err)
		return nil
	}
	out := make([]*pending, 0, len(applied))
	for _, pd := range batch {
		if pd.Err == nil && !pd.Replayed {
			out = append(out, pd)
		}
	}
	return out
}

// ordered raises a command's time to its predecessor's where concurrent
// submitters' stamps interleave (accept stamps in their goroutines, a few
// microseconds before the queue orders them), so that envelope times never
// decrease with seq: a time then resolves to a seq by binary search (AS
// OF, imago.commands and imago.changes filtered by time). A raised
// envelope (and its key's expiry, by as much) is encoded again; a clock
// that went back (a restart after it was set back) raises every command
// until it catches up.
func (p *Writer) ordered(batch []*pending) {
	last := p.lastTime // the log's; noteTimes moves it once the batch is logged
	for _, pd := range batch {
		if pd.Err == nil && pd.Env.Time.Before(last) {
			shift := last.Sub(pd.Env.Time)
			pd.Env.Time = last
			if !pd.Env.KeyExpires.IsZero() {
				pd.Env.KeyExpires = pd.Env.KeyExpires.Add(shift)
			}
			value, err := envelope.Encode(&pd.Env)
			if err != nil {
				pd.Err = fmt.Errorf("writer: encode the envelope of %s: %w", pd.Env.Name, err)
				continue
			}
			pd.value = value
		}
		last = pd.Env.Time
	}
}

func (p *Writer) syncEvery(d time.Duration) {
	defer p.bgDone.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := p.cfg.Log.Sync(); err != nil {
				// What was published stays published (mode interval acknowledges
				// before the sync); the writer refuses every later batch.
				p.setFailed(err)
				return
			}
		case <-p.stopBg:
			return
		}
	}
}

// DryRun applies cmd to a private fork of the published image and returns
// what it would answer and the rows it would change; nothing is logged and
// nothing changes. The envelope is stamped as Submit would (seq: the next
// one, as if nothing else came first); the idempotency key, if any, is not
// looked up or remembered. A refusal is a *RefusedError, as from Submit.
func (p *Writer) DryRun(cmd commands.Command, meta commands.Meta) (commands.Result, []memdb.Change, error) {
	def, err := p.cfg.Registry.Of(cmd)
	if err != nil {
		return commands.Result{}, nil, err
	}
	if err := cmd.Validate(); err != nil {
		return commands.Result{}, nil, &commands.InvalidError{Command: def.Name, Err: err}
	}
	pd, err := p.accept(def, cmd, meta)
	if err != nil {
		return commands.Result{}, nil, err
	}
	view := p.View()
	tx := view.Snapshot.Fork()
	defer tx.Abort()
	pd.Env.Seq = view.Seq + 1
	result, err := applier.Apply(cmd, tx, &pd.Env)
	if err != nil {
		return commands.Result{}, nil, &commands.RefusedError{Command: def.Name, Err: err}
	}
	return commands.Result{Seq: pd.Env.Seq, Value: result}, tx.Changes(), nil
}
