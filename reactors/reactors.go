// Package reactors runs side effects (mail, webhooks, other services) for
// durable commands, on the live path only: Apply must stay free of them,
// because replay runs it again.
//
// Guarantees:
//   - A reactor gets the commands it asked for, in seq order, each only once
//     it is durable (as the durability mode promises it).
//   - At least once: a reactor's cursor, the last seq it dealt with, is kept
//     in the log's store (wal.Log.SetCursor) after its React returned nil, so
//     after a crash or a restart it resumes there and may get again the
//     commands it was handling. React therefore has to tolerate a repeat;
//     Delivery.Key and Delivery.Submit make that easy.
//   - A React that fails is retried, with backoff, until it succeeds or the
//     server stops; the later commands wait (seq order).
//   - Never during replay: a reactor reads the log after its cursor, and
//     Open, VerifyReplay and the tools that replay the log run none. A
//     reactor registered for the first time starts at the log's end (or at
//     its start with FromStart).
//   - Never for an imported command (envelope.ImportedBy): its side effects
//     happened in the system it came from.
package reactors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
)

// Reactor is code run for durable commands; see the guarantees above.
type Reactor struct {
	// Name identifies the reactor: its cursor and its commands' idempotency
	// keys are named after it, so a renamed reactor starts afresh. 1 to 64
	// of a-z, 0-9, _ and -.
	Name string
	// Commands are the names of the commands it gets.
	Commands []string
	// React handles one durable command. An error (or a panic) retries the
	// same delivery after a backoff. ctx ends when the server stops.
	React func(ctx context.Context, d *Delivery) error
	// FromStart makes a reactor that has no cursor yet get every command of
	// the log from its start, instead of only those after its end.
	FromStart bool
}

var reactorName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// Delivery is one durable command handed to a reactor.
type Delivery struct {
	Envelope envelope.Envelope
	Command  commands.Command
	// Attempt counts the deliveries of this command in this process: 1,
	// then 2, 3, … after failures. A redelivery after a restart starts at 1.
	Attempt   int
	run       *reactorRun
	submitted int
}

// Key names this command for this reactor ("reactor:<name>:<seq>"): the
// same on every redelivery, so a side effect keyed by it (a webhook's
// Idempotency-Key) can be told apart from a repeat.
func (d *Delivery) Key() string {
	return "reactor:" + d.run.Name + ":" + strconv.FormatUint(d.Envelope.Seq, 10)
}

// View is the published image, at or after the delivered command's seq.
func (d *Delivery) View() *commands.View { return d.run.cfg.Writer.View() }

// Submit submits cmd on behalf of the reactor: its cause is the delivered
// command's seq, its actor "reactor:<name>", and its idempotency key
// Key()+":<n>" for the n-th command this delivery submits. A redelivery
// that submits its commands in the same order therefore never applies one
// twice (within the idempotency window): the repeat is answered from the
// first, with Replayed set, even if its body differs now.
func (d *Delivery) Submit(ctx context.Context, cmd commands.Command) (commands.Result, error) {
	d.submitted++
	return d.SubmitAs(ctx, strconv.Itoa(d.submitted), cmd)
}

// SubmitAs is Submit with the key ending in part (1 to 64 bytes) instead
// of a count, for a reaction whose submissions depend on a state that a
// redelivery may find changed: each names what it is for (a product's
// SKU), so that one skipped on redelivery does not shift the keys of the
// others. A reaction uses either Submit or SubmitAs, not both.
func (d *Delivery) SubmitAs(ctx context.Context, part string, cmd commands.Command) (commands.Result, error) {
	if part == "" || len(part) > 64 {
		return commands.Result{}, fmt.Errorf("reactor %s: key part of %d bytes: want 1 to 64", d.run.Name, len(part))
	}
	meta := commands.Meta{
		ID:    d.Key() + ":" + part,
		Actor: "reactor:" + d.run.Name,
		Cause: strconv.FormatUint(d.Envelope.Seq, 10),
	}
	res, err := d.run.cfg.Writer.Submit(ctx, cmd, meta)
	if conflict, ok := errors.AsType[*commands.ConflictError](err); ok {
		// The key was used by an earlier delivery, with a body computed from
		// the state of then: that command is the one this submission repeats.
		return commands.Result{Seq: conflict.Seq, Replayed: true}, nil
	}
	return res, err
}

// Status is a reactor's progress, as imago.reactors shows it.
type Status struct {
	Name     string
	Commands []string
	Cursor   uint64 // the last seq dealt with
	Lag      uint64 // durable commands after Cursor
	// Delivered counts the commands React handled since start.
	Delivered uint64
	// Failures counts the failed attempts at the current command (0: none).
	Failures      int
	LastError     string
	LastErrorTime time.Time
}

// Writer is what reactors need of the single writer (writer.Writer): its
// published view, how far it is durable, and to submit commands.
type Writer interface {
	View() *commands.View
	DurableSeq() uint64
	Submit(ctx context.Context, cmd commands.Command, meta commands.Meta) (commands.Result, error)
}

// Log is what reactors need of the command log (wal.Log): its entries and
// a durable cursor per reactor in its store.
type Log interface {
	envelope.Values
	LastSeq() uint64
	Cursor(name string) (seq uint64, found bool, err error)
	SetCursor(name string, seq uint64) error
}

// Config configures Start.
type Config struct {
	Writer Writer
	Log    Log
	// Upcaster brings old entries to their current form (the app's
	// upcasters; nil: none): reactors read what replay reads.
	Upcaster envelope.Upcaster
	Registry *commands.Registry
	Logger   *slog.Logger
	// MinBackoff and MaxBackoff bound the wait before a failed React is
	// retried: it doubles from MinBackoff up to MaxBackoff. Defaults 100ms
	// and 30s.
	MinBackoff, MaxBackoff time.Duration
}

// Group is the running reactors of a writer.
type Group struct {
	runs   []*reactorRun
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// reactorRun is one reactor's goroutine and its state.
type reactorRun struct {
	Reactor
	cfg   Config
	names map[string]bool
	done  atomic.Uint64 // the last seq dealt with
	saved atomic.Uint64 // the cursor last written to the log's store

	delivered atomic.Uint64
	mu        sync.Mutex // guards the error fields
	failures  int
	lastErr   string
	lastErrAt time.Time
}

// CursorName is the name of the reactor's cursor in the log's store.
func CursorName(reactor string) string { return "reactor/" + reactor }

// Start checks the reactors, places each at its cursor (a new one
// at the log's end, or start with FromStart) and starts them.
func Start(cfg Config, reactors []Reactor) (*Group, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	rs := &Group{}
	seen := map[string]bool{}
	for _, r := range reactors {
		if seen[r.Name] {
			return nil, fmt.Errorf("reactors: reactor %q: registered twice", r.Name)
		}
		run, err := newReactorRun(cfg, r)
		if err != nil {
			return nil, fmt.Errorf("reactors: reactor %q: %w", r.Name, err)
		}
		seen[r.Name] = true
		rs.runs = append(rs.runs, run)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs.cancel = cancel
	for _, run := range rs.runs {
		rs.wg.Go(func() { run.loop(ctx) })
	}
	return rs, nil
}

func newReactorRun(cfg Config, r Reactor) (*reactorRun, error) {
	if !reactorName.MatchString(r.Name) {
		return nil, errors.New("a reactor's name is 1 to 64 of a-z, 0-9, _ and -")
	}
	if r.React == nil || len(r.Commands) == 0 {
		return nil, errors.New("a reactor needs React and at least one command")
	}
	run := &reactorRun{Reactor: r, cfg: cfg, names: map[string]bool{}}
	for _, name := range r.Commands {
		if _, ok := cfg.Registry.Lookup(name); !ok {
			return nil, fmt.Errorf("%w: %q", commands.ErrUnknownCommand, name)
		}
		run.names[name] = true
	}
	cursor, err := run.initialCursor()
	if err != nil {
		return nil, err
	}
	run.done.Store(cursor)
	run.saved.Store(cursor)
	return run, nil
}

// initialCursor is where the reactor resumes, stored before it starts.
func (r *reactorRun) initialCursor() (uint64, error) {
	log := r.cfg.Log
	cursor, found, err := log.Cursor(CursorName(r.Name))
	switch {
	case err != nil:
		return 0, err
	case !found && r.FromStart:
		cursor = log.FirstSeq() - 1
	case !found:
		cursor = log.LastSeq()
	case cursor+1 < log.FirstSeq():
		return 0, fmt.Errorf("its cursor is at seq %d but the log begins at seq %d: the commands in between were removed by log truncation while it was not running, and it cannot get them", cursor, log.FirstSeq())
	case cursor > log.LastSeq():
		// The log lost a tail the cursor had passed (durability none, then
		// a machine crash; in the other modes imago.Open refuses first): the
		// seqs after the log's end will be other commands, which the
		// reactor must get.
		r.cfg.Logger.Warn("reactor cursor is after the log's end; resuming at the end", "reactor", r.Name, "cursor", cursor, "last_seq", log.LastSeq())
		cursor = log.LastSeq()
	default:
		return cursor, nil
	}
	return cursor, log.SetCursor(CursorName(r.Name), cursor)
}

// Status reports every reactor's progress, in registration order.
func (rs *Group) Status() []Status {
	out := make([]Status, 0, len(rs.runs))
	for _, r := range rs.runs {
		durable := r.cfg.Writer.DurableSeq()
		r.mu.Lock()
		st := Status{Name: r.Name, Commands: slices.Clone(r.Commands), Cursor: r.done.Load(),
			Delivered: r.delivered.Load(), Failures: r.failures, LastError: r.lastErr, LastErrorTime: r.lastErrAt}
		r.mu.Unlock()
		st.Lag = durable - min(st.Cursor, durable)
		out = append(out, st)
	}
	return out
}

// SlowestCursor is the lowest stored cursor of the reactors (found false
// when there is none): the log before it must be kept for them.
func (rs *Group) SlowestCursor() (seq uint64, found bool) {
	for i, r := range rs.runs {
		if c := r.saved.Load(); i == 0 || c < seq {
			seq = c
		}
	}
	return seq, len(rs.runs) > 0
}

// Stop ends the reactors: a React in progress sees its context end. Each
// cursor is stored as far as it got.
func (rs *Group) Stop() {
	rs.cancel()
	rs.wg.Wait()
}

// readChunk bounds the log entries read at once: React may take long, and
// a Pebble iterator is not held open meanwhile.
const readChunk = 256

// loop delivers the durable commands after the cursor until ctx ends.
func (r *reactorRun) loop(ctx context.Context) {
	defer r.saveCursor()
	for ctx.Err() == nil {
		view := r.cfg.Writer.View()
		durable := r.cfg.Writer.DurableSeq()
		if r.done.Load() >= durable {
			r.waitForMore(ctx, view)
			continue
		}
		deliveries, err := r.read(r.done.Load()+1, min(durable, r.done.Load()+readChunk))
		if err != nil {
			r.failed(ctx, 0, err)
			continue
		}
		r.clearFailures()
		for _, d := range deliveries {
			if d.Command != nil && !r.deliver(ctx, d) {
				return
			}
			r.done.Store(d.Envelope.Seq)
		}
		r.saveCursor()
	}
}

// waitForMore returns when a command after view may be durable, or ctx ends.
func (r *reactorRun) waitForMore(ctx context.Context, view *commands.View) {
	if view.Seq > r.done.Load() {
		// Published but not yet synced (durability interval): poll.
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
		}
		return
	}
	select {
	case <-view.Superseded():
	case <-ctx.Done():
	}
}

// read decodes the entries from..to into deliveries; entries of other
// commands come with a nil Command, so that the cursor passes them.
func (r *reactorRun) read(from, to uint64) ([]*Delivery, error) {
	var out []*Delivery
	// ReadAll: a retired entry comes too (with no command), so that the
	// cursor passes it.
	err := envelope.NewLog(r.cfg.Log).WithUpcaster(r.cfg.Upcaster).ReadAll(from, to, func(env envelope.Envelope) error {
		d := &Delivery{Envelope: env, run: r}
		// An imported command's side effects happened in the system it
		// came from: it passes too.
		if r.names[env.Name] && env.Retired == "" && env.ImportedBy == "" {
			def, _ := r.cfg.Registry.Lookup(env.Name)
			var err error
			if d.Command, err = def.DecodeEnvelope(&env); err != nil {
				// Never decodable by this build: reported, then passed.
				r.recordError(fmt.Errorf("seq %d (%s) cannot be decoded and is passed: %w", env.Seq, env.Name, err))
			}
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// deliver runs React until it succeeds; false if ctx ended first.
func (r *reactorRun) deliver(ctx context.Context, d *Delivery) bool {
	for attempt := 1; ; attempt++ {
		d.Attempt, d.submitted = attempt, 0
		err := r.react(ctx, d)
		if err == nil {
			r.delivered.Add(1)
			r.clearFailures()
			r.saveCursorAt(d.Envelope.Seq)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if !r.failed(ctx, attempt, fmt.Errorf("seq %d (%s): %w", d.Envelope.Seq, d.Envelope.Name, err)) {
			return false
		}
	}
}

// react calls React, turning a panic into an error.
func (r *reactorRun) react(ctx context.Context, d *Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in React: %v", p)
		}
	}()
	return r.React(ctx, d)
}

// failed records err and waits the backoff of the attempt-th failure
// (attempt 0: a failure to read the log); false if ctx ended meanwhile.
func (r *reactorRun) failed(ctx context.Context, attempt int, err error) bool {
	r.recordError(err)
	r.mu.Lock()
	r.failures++
	n := r.failures
	r.mu.Unlock()
	wait := r.cfg.MinBackoff << min(n-1, 20)
	if wait > r.cfg.MaxBackoff || wait <= 0 {
		wait = r.cfg.MaxBackoff
	}
	r.cfg.Logger.Warn("reactor failed; retrying", "reactor", r.Name, "attempt", attempt, "retry_in", wait, "err", err)
	select {
	case <-time.After(wait):
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *reactorRun) clearFailures() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = 0
}

func (r *reactorRun) recordError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr, r.lastErrAt = err.Error(), time.Now().UTC()
}

// saveCursor stores the cursor at the last seq dealt with.
func (r *reactorRun) saveCursor() { r.saveCursorAt(r.done.Load()) }

func (r *reactorRun) saveCursorAt(seq uint64) {
	if seq <= r.saved.Load() {
		return
	}
	if err := r.cfg.Log.SetCursor(CursorName(r.Name), seq); err != nil {
		// The log failed: the writer stops too; the reactor will redo from
		// the stored cursor after the restart.
		r.recordError(fmt.Errorf("store the cursor: %w", err))
		return
	}
	r.saved.Store(seq)
}
