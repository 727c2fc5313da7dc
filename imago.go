// Package imago is a memory-image database: an application's whole state
// lives in memory (package memdb), and what is persisted is the log of the
// commands that produced it (package wal). Open replays the log; Submit
// applies a command, logs it and publishes the new state once it is durable.
//
// An application is a value: its tables and its commands.
//
//	db, err := imago.Open("./data", shop.App(), imago.Options{})
//	res, err := db.Submit(ctx, &shop.PlaceOrder{...})
//	view := db.View() // an immutable snapshot of the published state
//
// The HTTP write API (package api) and the MySQL read server (package sql)
// are optional parts a program starts over a DB.
package imago

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/gcpolicy"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/migrations"
	"github.com/imagodb/imago/progress"
	"github.com/imagodb/imago/reactors"
	"github.com/imagodb/imago/wal"
	"github.com/imagodb/imago/writer"
)

// Version is the Imago release.
const Version = "0.1.0"

// Options configure Open. The zero value is the production default:
// durability always.
type Options struct {
	Durability writer.Durability
	// Strict makes a logged command that fails on replay fatal.
	Strict bool
	Logger *slog.Logger
	// Now stamps envelopes; default time.Now.
	Now func() time.Time
	// LogFS replaces the file system under the log (fault-injection tests).
	LogFS vfs.FS
	// Observer is told about the writer's work (metrics); may be nil.
	Observer writer.Observer
	// CheckpointEvery writes a checkpoint after this many commands since
	// the last one (0: not by count).
	CheckpointEvery uint64
	// CheckpointEveryBytes writes a checkpoint after the log grew by this
	// many bytes of entries since the last one (0: not by size).
	CheckpointEveryBytes uint64
	// CheckpointInterval writes a checkpoint this often while there are new
	// commands (0: not by time).
	CheckpointInterval time.Duration
	// CheckpointsKeep is the number of checkpoint files kept; default 3.
	CheckpointsKeep int
	// CheckpointShare is the share of the time a checkpoint works while
	// commands are being written (it sleeps the rest), so that writes slow
	// down little; default 0.25; 1: never paced. An idle server's
	// checkpoint runs at full speed.
	CheckpointShare float64
	// IdempotencyWindow is how long, in envelope time, the key of a command
	// accepted now is remembered; default 24h (writer.Config).
	IdempotencyWindow time.Duration
	// TruncateLog removes, after each checkpoint, the log entries up to
	// the oldest checkpoint kept (see checkpoints.go). Off by default: the
	// log is the history, and only a whole log lets a new projection
	// rebuild its image.
	TruncateLog bool
	// Reactors run side effects for durable commands (see package reactors).
	Reactors []reactors.Reactor
	// ReactorMinBackoff and ReactorMaxBackoff bound the wait before a
	// failed reaction is retried; defaults 100ms and 30s.
	ReactorMinBackoff, ReactorMaxBackoff time.Duration
	// ReplicaOf, when set, opens the database as a read-only replica of
	// that primary (its URL, for messages): submissions are refused naming
	// it, and Replicate applies the primary's log entries (see package
	// replica). A replica runs no reactors: its primary's do.
	ReplicaOf string
	// ReplicaSlotTTL is how long a replica that is not connected holds log
	// truncation back; default SlotTTL.
	ReplicaSlotTTL time.Duration
	// AsOfCacheBytes bounds the past states kept once built (see
	// timetravel.go); default DefaultAsOfCacheBytes.
	AsOfCacheBytes int64
}

// DB is an open Imago database.
type DB struct {
	app      *App
	dir      string
	registry *commands.Registry
	upcaster envelope.Upcaster // the app's upcasters, nil if none
	image    *memdb.Image
	log      *wal.Log
	writer   *writer.Writer
	reactors *reactors.Group
	recovery applier.Stats
	audit    *auditIndex // the log by actor and declared payload fields (timetravel_audit.go)

	logger         *slog.Logger
	fingerprint    [32]byte
	restored       Restored
	keep           int
	share          float64 // see Options.CheckpointShare
	truncateLog    bool
	ckptMu         sync.Mutex // one checkpoint at a time
	lastCheckpoint atomic.Pointer[CheckpointInfo]
	replicas       replicaSlots  // the replicas that follow this primary
	slotTTL        time.Duration // Options.ReplicaSlotTTL
	past           *pastStates   // time travel (timetravel.go)
	replicaOf      string        // Options.ReplicaOf
	redactionEpoch atomic.Uint64 // redactions of the log (redact.go)
	stop           chan struct{} // closed by Close: background work ends
	bg             sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Open opens the database in dir (created if missing) and recovers its
// image: the newest usable checkpoint, then the log after it.
func Open(dir string, app *App, opts Options) (*DB, error) {
	registry, err := app.check()
	if err != nil {
		return nil, err
	}
	if opts.CheckpointsKeep <= 0 {
		opts.CheckpointsKeep = 3
	}
	if opts.CheckpointShare <= 0 || opts.CheckpointShare > 1 {
		opts.CheckpointShare = 0.25
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ReplicaSlotTTL <= 0 {
		opts.ReplicaSlotTTL = SlotTTL
	}
	if opts.ReplicaOf != "" && len(opts.Reactors) > 0 {
		return nil, fmt.Errorf("imago: a replica runs no reactors (its primary, %s, does)", opts.ReplicaOf)
	}
	if err := claimDataDir(dir, app, registry); err != nil {
		return nil, err
	}
	log, err := openLog(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("imago: %w", err)
	}
	chain, err := app.chain(registry)
	if err != nil {
		log.Close()
		return nil, err
	}
	if err := migrations.CheckVersions(filepath.Join(dir, "log.versions"), log, log.LastSeq(), chain); err != nil {
		log.Close()
		return nil, fmt.Errorf("imago: open %s: %w", dir, err)
	}
	redactions, err := ReadRedactions(dir)
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("imago: open %s: %w", dir, err)
	}
	db := &DB{app: app, dir: dir, registry: registry, slotTTL: opts.ReplicaSlotTTL, upcaster: app.upcaster(chain), log: log, logger: opts.Logger, fingerprint: app.Fingerprint(),
		keep: opts.CheckpointsKeep, share: opts.CheckpointShare, truncateLog: opts.TruncateLog, stop: make(chan struct{}), replicaOf: opts.ReplicaOf}
	db.redactionEpoch.Store(uint64(len(redactions)))
	if db.audit, err = newAuditIndex(log, db.Envelopes(), app.AuditFields); err != nil {
		log.Close()
		return nil, fmt.Errorf("imago: open %s: %w", dir, err)
	}
	if err := db.start(opts); err != nil {
		log.Close()
		return nil, fmt.Errorf("imago: open %s: %w", dir, err)
	}
	db.past = newPastStates(db, opts.AsOfCacheBytes)
	db.bg.Add(1)
	go db.past.ladderLoop()
	db.bg.Add(1)
	go db.auditLoop()
	if opts.CheckpointEvery > 0 || opts.CheckpointEveryBytes > 0 || opts.CheckpointInterval > 0 {
		db.bg.Add(1)
		go db.checkpointLoop(opts.CheckpointEvery, opts.CheckpointEveryBytes, opts.CheckpointInterval)
	}
	return db, nil
}

// start recovers the image and starts the writer and the reactors.
func (db *DB) start(opts Options) error {
	if err := db.checkCursors(opts); err != nil {
		return err
	}
	if err := db.recover(opts.Strict); err != nil {
		return err
	}
	w, err := writer.Start(writer.Config{
		Image: db.image, StartSeq: db.recovery.LastSeq, Log: db.log, Registry: db.registry, Durability: opts.Durability,
		Now: opts.Now, Logger: db.logger, Observer: opts.Observer, IdempotencyWindow: opts.IdempotencyWindow, ReplicaOf: opts.ReplicaOf,
		Upcaster: db.upcaster,
	})
	if err != nil {
		return err
	}
	db.writer = w
	db.reactors, err = reactors.Start(reactors.Config{Writer: w, Log: db.log, Upcaster: db.upcaster, Registry: db.registry, Logger: db.logger,
		MinBackoff: opts.ReactorMinBackoff, MaxBackoff: opts.ReactorMaxBackoff}, opts.Reactors)
	if err != nil {
		w.Close()
		return err
	}
	return nil
}

// recover loads the newest usable checkpoint and replays the log after it,
// with the collector paused (see package gcpolicy).
func (db *DB) recover(strict bool) error {
	defer gcpolicy.Pause()()
	image, restored, err := restore(db.dir, db.app, db.fingerprint, db.log, db.logger)
	if err == nil && restored.Seq+1 < db.log.FirstSeq() {
		err = truncatedError(db.dir, db.log.FirstSeq(), "the warnings above say why each was skipped")
	}
	if err != nil {
		return err
	}
	if restored.Seq > 0 {
		db.checkTables(restored.Seq)
	}
	_, stats, err := applier.Replay{
		Image: image, Registry: db.registry, Log: db.Envelopes(), From: restored.Seq + 1, To: db.log.LastSeq(),
		Strict: strict, Logger: db.logger, Progress: progress.New(db.logger, "replaying the log", "commands").Report,
	}.Run()
	if err != nil {
		return err
	}
	db.image, db.restored, db.recovery = image, restored, stats
	return nil
}

// checkCursors refuses a log that ends before a reactor's cursor: a
// reactor gets only durable commands, so in durability always and interval
// its cursor past the end proves that synced entries were lost. (In mode
// none a machine crash may lose what a reactor saw: it resumes at the end.)
func (db *DB) checkCursors(opts Options) error {
	if opts.Durability.Mode == writer.None {
		return nil
	}
	for _, r := range opts.Reactors {
		seq, found, err := db.log.Cursor(reactors.CursorName(r.Name))
		if err != nil {
			return err
		}
		if found && seq > db.log.LastSeq() {
			return &LostEntriesError{Dir: db.dir, Last: db.log.LastSeq(), Upto: seq, Evidence: fmt.Sprintf("the cursor of reactor %s (which gets only durable commands)", r.Name)}
		}
	}
	return nil
}

// checkTables warns of damaged tables of the log: a replay from the
// checkpoint at seq base reads only the entries after it, and would not
// notice the damage of those before, which a rebuild from seq 1 (a new
// projection, log verify) needs. It reads every table block once, at disk
// speed.
func (db *DB) checkTables(base uint64) {
	damage, err := db.log.CheckTables()
	if err != nil {
		db.logger.Warn("cannot check the log's tables", "err", err)
	}
	for _, d := range damage {
		db.logger.Warn("a table of the log is damaged", "file", d.File, "first_seq", d.From, "last_seq", d.To,
			"covered_by_checkpoint", d.To <= base, "err", d.Err,
			"consequence", "entries in it cannot be read: the image is recovered from the checkpoint, but a rebuild from seq 1 fails there; restore the log from a backup")
	}
}

// Submit applies cmd and returns once it is durable (see writer.Writer.Submit).
func (db *DB) Submit(ctx context.Context, cmd commands.Command) (commands.Result, error) {
	return db.writer.Submit(ctx, cmd, commands.Meta{})
}

// SubmitMeta is Submit with an idempotency key, actor and cause.
func (db *DB) SubmitMeta(ctx context.Context, cmd commands.Command, meta commands.Meta) (commands.Result, error) {
	return db.writer.Submit(ctx, cmd, meta)
}

// SubmitAll applies cmds in order, each with its metas[i], logged together
// with one fsync (see writer.Writer.SubmitAll).
func (db *DB) SubmitAll(ctx context.Context, cmds []commands.Command, metas []commands.Meta) []commands.Outcome {
	return db.writer.SubmitAll(ctx, cmds, metas)
}

// Import brings commands of another system's history into the log with
// their original times, actors and ids, all or nothing, recorded as
// imported by importer (see writer.Writer.Import).
func (db *DB) Import(ctx context.Context, items []commands.Import, importer string) ([]commands.Result, error) {
	return db.writer.Import(ctx, items, importer)
}

// Replicate applies a primary's log entries, given as seqs and the values
// its log holds, following the published seq; a replica's only writes
// (see writer.Writer.Replicate).
func (db *DB) Replicate(ctx context.Context, seqs []uint64, values [][]byte) error {
	return db.writer.Replicate(ctx, seqs, values)
}

// DryRun tells what cmd would answer and change, changing nothing (see
// writer.Writer.DryRun).
func (db *DB) DryRun(cmd commands.Command, meta commands.Meta) (commands.Result, []memdb.Change, error) {
	return db.writer.DryRun(cmd, meta)
}

// Reactors reports the progress of the reactors (Options.Reactors).
func (db *DB) Reactors() []reactors.Status { return db.reactors.Status() }

// View is the published state: an immutable snapshot and its seq.
func (db *DB) View() *commands.View { return db.writer.View() }

// DurableSeq is the seq of the last command on stable storage as the
// durability mode promises it (see writer.Writer.DurableSeq).
func (db *DB) DurableSeq() uint64 { return db.writer.DurableSeq() }

// Dir is the database's data directory.
func (db *DB) Dir() string { return db.dir }

// App is the application the database serves.
func (db *DB) App() *App { return db.app }

// Registry holds the app's command definitions.
func (db *DB) Registry() *commands.Registry { return db.registry }

// Tables are the app's tables (not Imago's own in the image).
func (db *DB) Tables() []*memdb.Table { return db.app.Tables }

// Recovery reports what Open replayed after the checkpoint it loaded.
func (db *DB) Recovery() applier.Stats { return db.recovery }

// Restored reports the checkpoint Open loaded, if any.
func (db *DB) Restored() Restored { return db.restored }

// Stats reports the writer's counters.
func (db *DB) Stats() writer.Stats { return db.writer.Stats() }

// QueueDepth is the number of commands waiting for the writer.
func (db *DB) QueueDepth() int { return db.writer.QueueDepth() }

// Err is the reason the database stopped accepting writes, or nil.
func (db *DB) Err() error { return db.writer.Err() }

// Log is the command log, for reading.
func (db *DB) Log() *wal.Log { return db.log }

// Envelopes reads the command log's envelopes (the one decode step).
// Entries of older versions come upcast by the app's upcasters.
func (db *DB) Envelopes() *envelope.Log { return envelope.NewLog(db.log).WithUpcaster(db.upcaster) }

// Upcaster is the app's upcasters (App.Upcasters), nil if it declares none:
// the API upcasts the submissions of clients sending an old version with it.
func (db *DB) Upcaster() envelope.Upcaster { return db.upcaster }

// LogValues reads the log's values as stored: what a replica copies.
func (db *DB) LogValues() envelope.Values { return db.log }

// LogStats summarises the durable log.
func (db *DB) LogStats() (envelope.Stats, error) {
	return db.Envelopes().Stats(db.DurableSeq(), db.log.DiskBytes())
}

// VerifyReplay checks the invariant of the write path: the published image
// equals a fresh replay of the durable log up to the published seq. It
// replays the whole log into a second image (a truncated log: after the
// oldest checkpoint it kept), so it costs a full recovery.
func (db *DB) VerifyReplay() error {
	view := db.View()
	want, err := view.Snapshot.Hash()
	if err != nil {
		return err
	}
	db.ckptMu.Lock() // no checkpoint is removed while the base loads
	image, base, _, err := ReplayBase(db.dir, db.app, db.log)
	db.ckptMu.Unlock()
	if err != nil {
		return fmt.Errorf("imago: verify: %w", err)
	}
	snap, _, err := applier.Replay{Image: image, Registry: db.registry, Log: db.Envelopes(), From: base + 1, To: view.Seq,
		Logger: slog.New(slog.DiscardHandler)}.Run()
	if err != nil {
		return fmt.Errorf("imago: verify: %w", err)
	}
	got, err := snap.Hash()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("imago: verify: the published image at seq %d (hash %x) differs from a replay of the log (hash %x)", view.Seq, want[:8], got[:8])
	}
	return nil
}

// Close stops accepting commands, finishes the batch in flight, syncs and
// closes the log. Calling it again returns the first call's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.stop)
		db.bg.Wait()
		db.past.close()    // no past state is built from the log being closed
		db.reactors.Stop() // before the writer: a reaction may be submitting
		if err := errors.Join(db.writer.Close(), db.log.Close()); err != nil {
			db.closeErr = fmt.Errorf("imago: close: %w", err)
		}
	})
	return db.closeErr
}

// Replica slots: a primary remembers each replica that follows its log
// (GET /v1/log?format=raw with an Imago-Replica header), the last seq it
// sent it and the last seq it acknowledged (POST /v1/replicas/{name}/ack,
// and the seq before the one its stream asked for), so that truncation
// keeps what the replica has yet to apply. A replica not seen for SlotTTL
// no longer holds truncation back: when it returns, the primary answers
// 410 and it bootstraps again.

// SlotTTL is how long a replica that is not connected keeps its slot, by
// default (Options.ReplicaSlotTTL).
const SlotTTL = time.Hour

// ReplicaSlot is what a primary knows of a replica (imago.replicas).
type ReplicaSlot struct {
	Name, Address string
	Seq           uint64 // the last seq sent to it
	// Acked is the last seq it reported applied and logged: at least the
	// seq before the one its stream began at.
	Acked          uint64
	Connected      bool
	ConnectedSince time.Time
	LastSeen       time.Time
}

// replicaSlots are a primary's slots, by replica name.
type replicaSlots struct {
	mu    sync.Mutex
	slots map[string]*ReplicaSlot
}

// ReplicaSeen records that the replica name (at addr) was sent the log up
// to seq, and whether its stream is still open.
func (db *DB) ReplicaSeen(name, addr string, seq uint64, connected bool) {
	r := &db.replicas
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.slots == nil {
		r.slots = map[string]*ReplicaSlot{}
	}
	now := time.Now()
	s := r.slots[name]
	if s == nil || (connected && !s.Connected) {
		// A stream that begins after seq: the replica holds seq.
		s = &ReplicaSlot{Name: name, ConnectedSince: now, Acked: seq}
		r.slots[name] = s
	}
	s.Address, s.Seq, s.Connected, s.LastSeen = addr, seq, connected, now
}

// ReplicaAcked records that the replica name (at addr) applied and logged
// the log up to seq. A replica without a slot (none of its streams seen
// within SlotTTL) gets none: its next stream makes it.
func (db *DB) ReplicaAcked(name, addr string, seq uint64) {
	r := &db.replicas
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.slots[name]; s != nil {
		s.Address, s.Acked, s.LastSeen = addr, max(s.Acked, seq), time.Now()
	}
}

// ReplicaSlots are the replicas that followed the log within SlotTTL, by
// name.
func (db *DB) ReplicaSlots() []ReplicaSlot {
	r := &db.replicas
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ReplicaSlot
	for name, s := range r.slots {
		if !s.Connected && time.Since(s.LastSeen) > db.slotTTL {
			delete(r.slots, name)
			continue
		}
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ReplicaSlot) int { return strings.Compare(a.Name, b.Name) })
	return out
}
