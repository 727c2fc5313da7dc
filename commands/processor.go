package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/wal"
)

// Config configures a Processor.
type Config struct {
	// Image is the image to replay into and write: empty, or holding the
	// commands 1..StartSeq (loaded from a checkpoint).
	Image      *memdb.Image
	StartSeq   uint64
	Log        *wal.Log
	Registry   *Registry
	Durability Durability
	// MaxBatch bounds the commands applied and logged together. Default 1024.
	MaxBatch int
	// Strict makes a command that fails on replay fatal instead of skipped.
	Strict bool
	// Now is the clock that stamps envelopes at accept. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Observer is told about accepted and refused commands and batches.
	Observer Observer
	// Progress, if set, is called after each batch replayed at start with
	// the commands replayed so far and the number to replay.
	Progress func(done, total uint64)
	// IdempotencyWindow is how long, in envelope time, the key of a command
	// accepted now is remembered (see IdempotencyKeys, which Image must
	// hold). Default 24h.
	IdempotencyWindow time.Duration
}

// Meta is what a submitter says about a command besides its payload.
type Meta struct {
	// ID is the idempotency key (see CheckKey); when empty Imago generates
	// the envelope's id and nothing is remembered.
	ID    string
	Actor string
	Cause string
}

// Result is the answer to a durable command.
type Result struct {
	Seq   uint64
	Value any // what Apply returned
	// Replayed says the key was seen within the window: Seq and Value are
	// the original command's (Value as JSON) and nothing was applied.
	Replayed bool
}

// View is a published image: a snapshot and the seq of the last command in it.
// Everything in a View is durable (in durability mode always).
type View struct {
	Snapshot *memdb.Snapshot
	Seq      uint64
	next     chan struct{} // closed when a newer view is published
}

func newView(s *memdb.Snapshot, seq uint64) *View {
	return &View{Snapshot: s, Seq: seq, next: make(chan struct{})}
}

// Superseded is closed once a newer view is published: a follower waits on
// it, then takes the new View (no publish can slip between the two).
func (v *View) Superseded() <-chan struct{} { return v.next }

// ReplayStats describe the replay done by Start.
type ReplayStats struct {
	Commands uint64        // log entries replayed
	Skipped  uint64        // entries whose Apply failed on replay and were skipped
	Duration time.Duration // time the replay took
}

// WriterStats count the writer's work since start.
type WriterStats struct {
	Commands uint64 // durable commands
	Refused  uint64
	Batches  uint64 // log appends (one fsync each in mode always)
}

// Processor is the single writer of an image.
type Processor struct {
	cfg       Config
	in        chan []*pending // a group: one command, or a batch submitted together
	mu        sync.RWMutex    // guards closed against Submit's send
	closed    bool
	stopped   chan struct{}
	failed    atomic.Pointer[error]
	view      atomic.Pointer[View]
	lastSeq   uint64 // writer goroutine only (and Start before it)
	replay    ReplayStats
	stats     struct{ commands, refused, batches atomic.Uint64 }
	stopBg    chan struct{}
	bgDone    sync.WaitGroup
	closeOnce sync.Once
}

// pending is one command on its way through the writer.
type pending struct {
	env    Envelope
	cmd    Command
	value  []byte // the encoded envelope: the log value
	result any
	err    error
	// replayed: an earlier command had the key; env.Seq and result are its.
	replayed bool
	done     chan struct{}
}

// Start replays the log into the (empty) image and starts the writer.
func Start(cfg Config) (*Processor, error) {
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
		cfg.IdempotencyWindow = DefaultIdempotencyWindow
	}
	p := &Processor{cfg: cfg, in: make(chan []*pending, 4*cfg.MaxBatch), stopped: make(chan struct{}), stopBg: make(chan struct{})}
	if err := p.replayLog(cfg.Log.LastSeq()); err != nil {
		return nil, err
	}
	p.view.Store(newView(cfg.Image.Snapshot(), p.lastSeq))
	go p.run()
	if cfg.Durability.Mode == Interval {
		p.bgDone.Add(1)
		go p.syncEvery(cfg.Durability.Interval)
	}
	return p, nil
}

// View returns the current published image.
func (p *Processor) View() *View { return p.view.Load() }

// DurableSeq is the last seq on stable storage as far as the durability mode
// promises: in mode always and none the published seq (none promises no
// more than the OS has it), in mode interval the last synced one.
func (p *Processor) DurableSeq() uint64 {
	if p.cfg.Durability.Mode == Interval {
		return min(p.cfg.Log.SyncedSeq(), p.View().Seq)
	}
	return p.View().Seq
}

// Replay reports what Start replayed.
func (p *Processor) Replay() ReplayStats { return p.replay }

// Stats reports the writer's counters.
func (p *Processor) Stats() WriterStats {
	return WriterStats{Commands: p.stats.commands.Load(), Refused: p.stats.refused.Load(), Batches: p.stats.batches.Load()}
}

// Err is the reason the processor failed stop, or nil.
func (p *Processor) Err() error {
	if e := p.failed.Load(); e != nil {
		return *e
	}
	return nil
}

// Submit validates cmd, stamps its envelope and waits until it is durable
// (or, in mode interval or none, applied and logged). It returns the command's
// seq and result, an *InvalidError, a *RefusedError, or ErrNotAccepting.
// If ctx ends first, Submit returns ctx.Err() and the command may still be applied.
func (p *Processor) Submit(ctx context.Context, cmd Command, meta Meta) (Result, error) {
	pd, err := p.prepare(cmd, meta)
	if err != nil {
		return Result{}, err
	}
	if err := p.enqueue(ctx, []*pending{pd}); err != nil {
		return Result{}, err
	}
	select {
	case <-pd.done:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	return pd.outcome()
}

func (pd *pending) outcome() (Result, error) {
	if pd.err != nil {
		return Result{}, pd.err
	}
	return Result{Seq: pd.env.Seq, Value: pd.result, Replayed: pd.replayed}, nil
}

// Outcome is one command's answer in SubmitAll.
type Outcome struct {
	Result
	Err error // as Submit's error
}

// SubmitAll submits cmds (with metas[i] for cmds[i]) together: they reach
// the writer at once and in order, each is applied or refused on its own,
// and those applied are logged in one append, with one fsync. A command that
// fails Validate gets its error and the others go on. It returns when every
// command has its outcome, or with ctx's error for those that have none yet
// (they may still be applied).
func (p *Processor) SubmitAll(ctx context.Context, cmds []Command, metas []Meta) []Outcome {
	out := make([]Outcome, len(cmds))
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
func (p *Processor) prepare(cmd Command, meta Meta) (*pending, error) {
	def, err := p.cfg.Registry.Of(cmd)
	if err != nil {
		return nil, err
	}
	if err := cmd.Validate(); err != nil {
		p.cfg.Observer.Refused(def.Name)
		return nil, &InvalidError{Command: def.Name, Err: err}
	}
	return p.accept(def, cmd, meta)
}

// accept stamps the envelope and encodes it, in the submitter's goroutine so
// that the writer only applies and logs.
func (p *Processor) accept(def *Definition, cmd Command, meta Meta) (*pending, error) {
	payload, err := EncodePayload(cmd)
	if err != nil {
		return nil, err
	}
	env := Envelope{
		ID: meta.ID, Name: def.Name, Version: def.Version, Actor: meta.Actor, Cause: meta.Cause,
		// Microseconds: what DATETIME(6) holds, so a time stored by Apply reads back equal.
		Time:    p.cfg.Now().UTC().Truncate(time.Microsecond),
		Payload: payload,
	}
	if meta.ID != "" {
		if err := CheckKey(meta.ID); err != nil {
			return nil, &InvalidError{Command: def.Name, Err: err}
		}
		env.KeyExpires = env.Time.Add(p.cfg.IdempotencyWindow)
	} else {
		env.ID = uuid.NewString()
	}
	value, err := EncodeEnvelope(&env)
	if err != nil {
		return nil, err
	}
	return &pending{env: env, cmd: cmd, value: value, done: make(chan struct{})}, nil
}

func (p *Processor) enqueue(ctx context.Context, group []*pending) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return fmt.Errorf("%w: the processor is closed", ErrNotAccepting)
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotAccepting, err)
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
func (p *Processor) Close() error {
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
func (p *Processor) run() {
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
		batch, next = append(batch[:0], next...), nil
	drain:
		for len(batch) < p.cfg.MaxBatch {
			select {
			case group, ok := <-p.in:
				if !ok {
					break drain
				}
				if len(batch)+len(group) > p.cfg.MaxBatch {
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
func (p *Processor) process(batch []*pending) {
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
	applied := p.applyAll(batch, true)
	applyTime := time.Since(start)
	p.observeRefusals(batch)
	if len(applied) == 0 {
		return
	}
	entries := make([]wal.Entry, len(applied))
	for i, pd := range applied {
		entries[i] = wal.Entry{Seq: pd.env.Seq, Data: pd.value}
	}
	start = time.Now()
	if err := p.cfg.Log.Append(entries, p.cfg.Durability.Mode == Always); err != nil {
		p.failStop(err)
		p.failAll(batch, err) // with the answers of replayed keys: their originals may be in this batch
		return
	}
	logTime := time.Since(start)
	p.lastSeq = applied[len(applied)-1].env.Seq
	// Publish only now: readers never see what the log does not hold.
	old := p.view.Swap(newView(p.cfg.Image.Snapshot(), p.lastSeq))
	close(old.next)
	p.stats.commands.Add(uint64(len(applied)))
	p.stats.batches.Add(1)
	for _, pd := range applied {
		p.cfg.Observer.Accepted(pd.env.Name)
	}
	p.cfg.Observer.Batch(len(applied), applyTime, logTime)
}

// observeRefusals reports the commands of batch that Apply refused.
func (p *Processor) observeRefusals(batch []*pending) {
	for _, pd := range batch {
		var refused *RefusedError
		if errors.As(pd.err, &refused) {
			p.cfg.Observer.Refused(pd.env.Name)
		}
	}
}

// QueueDepth is the number of submissions (single commands or SubmitAll groups) waiting for the writer.
func (p *Processor) QueueDepth() int { return len(p.in) }

// failStop resets the working image to the last published one and refuses
// all further writes: nothing unlogged becomes visible, and only a restart
// (which replays the log) can tell what reached the disk.
// Writer goroutine only: it owns the working image.
func (p *Processor) failStop(err error) {
	p.cfg.Image.Reset(p.view.Load().Snapshot)
	p.setFailed(err)
}

func (p *Processor) setFailed(err error) {
	err = fmt.Errorf("the command log failed, writes are refused until restart: %w", err)
	if p.failed.CompareAndSwap(nil, &err) {
		p.cfg.Logger.Error("command log failed; refusing writes until restart", "err", err)
	}
}

func (p *Processor) failAll(batch []*pending, err error) {
	for _, pd := range batch {
		if pd.err == nil {
			pd.err = fmt.Errorf("%w: %w", ErrNotAccepting, err)
		}
	}
}

// applyAll applies the batch in one image transaction and commits it. A
// command whose Apply fails gets its err set and leaves no trace: the
// transaction is aborted and the others are applied again without it (Apply
// is deterministic, so they produce the same effects). With assign, the
// successful commands get consecutive seqs after lastSeq, and a keyed one
// whose key is remembered is answered from it instead of applied; otherwise
// (replay) their seqs are already set. It returns the applied commands in
// order.
func (p *Processor) applyAll(batch []*pending, assign bool) []*pending {
	for {
		tx := p.cfg.Image.Txn()
		seq := p.lastSeq
		applied := make([]*pending, 0, len(batch))
		refused := false
		for _, pd := range batch {
			if pd.err != nil {
				continue
			}
			pd.replayed = false
			if assign {
				pd.env.Seq = seq + 1
			}
			done, err := apply(tx, pd, assign)
			if err != nil {
				pd.err = &RefusedError{Command: pd.env.Name, Err: err}
				p.stats.refused.Add(1)
				refused = true
				break
			}
			if done {
				seq = pd.env.Seq
				applied = append(applied, pd)
			}
		}
		if refused {
			tx.Abort()
			continue
		}
		if err := tx.Commit(); err != nil {
			// Only the row-count bookkeeping can fail here: a bug, not input.
			p.cfg.Logger.Error("image commit failed", "err", err)
			p.failAll(batch, err)
			return nil
		}
		return applied
	}
}

// apply applies one command in tx and remembers its key. It reports
// whether the command was applied (not answered from its key) and Apply's
// refusal. A conflicting key is pd.err, not a refusal: nothing was applied.
func apply(tx *memdb.Txn, pd *pending, live bool) (applied bool, err error) {
	if err := expireKeys(tx, pd.env.Time); err != nil {
		return false, err
	}
	keyed := !pd.env.KeyExpires.IsZero()
	if keyed && live {
		seq, result, found, err := previous(tx, &pd.env)
		switch {
		case err != nil:
			pd.err = err
			return false, nil
		case found:
			pd.env.Seq, pd.result, pd.replayed = seq, result, true
			return false, nil
		}
	}
	result, err := safeApply(pd.cmd, tx, &pd.env)
	if err != nil {
		return false, err
	}
	if keyed {
		if err := remember(tx, &pd.env, result); err != nil {
			return false, err
		}
	}
	pd.result = result
	return true, nil
}

// safeApply runs Apply, turning a panic into a refusal: a bug in one command
// must not take the writer down.
func safeApply(cmd Command, tx *memdb.Txn, env *Envelope) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in Apply: %v", r)
		}
	}()
	return cmd.Apply(tx, env)
}

// Replay applies the logged commands with seq <= to to cfg.Image without starting a writer, and returns the resulting
// snapshot. Verification uses it: a fresh replay must equal the published image.
func Replay(cfg Config, to uint64) (*memdb.Snapshot, ReplayStats, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	p := &Processor{cfg: cfg}
	if err := p.replayLog(to); err != nil {
		return nil, ReplayStats{}, err
	}
	return cfg.Image.Snapshot(), p.replay, nil
}

// replayBatch is the number of commands replayed per image transaction:
// large, so that rows written by several commands of a batch (a product's
// stock, an order placed then paid) reach the index trees once.
const replayBatch = 8192

// replayLog applies the logged commands up to seq to to the image, in
// batches. Another goroutine reads and decodes the next batch meanwhile.
func (p *Processor) replayLog(to uint64) error {
	start := time.Now()
	p.lastSeq = p.cfg.StartSeq
	batches := make(chan []*pending, 2)
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- p.readBatches(to, batches, stop)
	}()
	total, done := to-min(to, p.cfg.StartSeq), uint64(0)
	for batch := range batches {
		if err := p.replayBatch(batch); err != nil {
			close(stop)
			for range batches {
			}
			return fmt.Errorf("commands: replay: %w", err)
		}
		if done += uint64(len(batch)); p.cfg.Progress != nil {
			p.cfg.Progress(done, total)
		}
	}
	if err := <-readErr; err != nil {
		return fmt.Errorf("commands: replay: %w", err)
	}
	p.replay.Duration = time.Since(start)
	return nil
}

// readBatches reads and decodes the log after StartSeq up to seq to and
// sends it in batches, until stop is closed.
func (p *Processor) readBatches(to uint64, batches chan<- []*pending, stop <-chan struct{}) error {
	batch := make([]*pending, 0, replayBatch)
	send := func() error {
		select {
		case batches <- batch:
			batch = make([]*pending, 0, replayBatch)
			return nil
		case <-stop:
			return errors.New("stopped")
		}
	}
	err := p.cfg.Log.Read(p.cfg.StartSeq+1, to, func(e wal.Entry) error {
		pd, err := p.decodeEntry(e)
		if err != nil {
			return err
		}
		if batch = append(batch, pd); len(batch) == replayBatch {
			return send()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = send()
	}
	return err
}

// replayBatch applies one batch of logged commands.
func (p *Processor) replayBatch(batch []*pending) error {
	p.applyAll(batch, false)
	for _, pd := range batch {
		if pd.err != nil {
			if p.cfg.Strict {
				return fmt.Errorf("replay of seq %d (%s) failed: %w", pd.env.Seq, pd.env.Name, pd.err)
			}
			p.replay.Skipped++
			p.cfg.Logger.Warn("replay skipped a command that failed", "seq", pd.env.Seq, "command", pd.env.Name, "err", pd.err)
		}
	}
	p.lastSeq = batch[len(batch)-1].env.Seq
	p.replay.Commands += uint64(len(batch))
	return nil
}

// decodeEntry turns a log entry back into a command. An entry this build
// cannot decode is a failed command on replay (skipped, or fatal if strict).
func (p *Processor) decodeEntry(e wal.Entry) (*pending, error) {
	env, err := DecodeEnvelope(e.Seq, e.Data)
	if err != nil {
		return nil, err
	}
	pd := &pending{env: env}
	def, ok := p.cfg.Registry.Lookup(env.Name)
	if !ok {
		pd.err = fmt.Errorf("%w: %q is not registered in this build", ErrUnknownCommand, env.Name)
		return pd, nil
	}
	if pd.cmd, err = DecodePayload(def, env.Payload); err != nil {
		pd.err = err
	}
	return pd, nil
}

func (p *Processor) syncEvery(d time.Duration) {
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
func (p *Processor) DryRun(cmd Command, meta Meta) (Result, []memdb.Change, error) {
	def, err := p.cfg.Registry.Of(cmd)
	if err != nil {
		return Result{}, nil, err
	}
	if err := cmd.Validate(); err != nil {
		return Result{}, nil, &InvalidError{Command: def.Name, Err: err}
	}
	pd, err := p.accept(def, cmd, meta)
	if err != nil {
		return Result{}, nil, err
	}
	view := p.View()
	tx := view.Snapshot.Fork()
	defer tx.Abort()
	pd.env.Seq = view.Seq + 1
	result, err := safeApply(cmd, tx, &pd.env)
	if err != nil {
		return Result{}, nil, &RefusedError{Command: def.Name, Err: err}
	}
	return Result{Seq: pd.env.Seq, Value: result}, tx.Changes(), nil
}
