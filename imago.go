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
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/wal"
)

// Version is the Imago release.
const Version = "0.1.0"

// App declares an application: its name (the SQL database name), its tables
// and its commands.
type App struct {
	Name string
	// ProjectionVersion is bumped when Apply functions change what they do
	// with the same commands, so state derived from the log is rebuilt.
	ProjectionVersion int
	Tables            []*memdb.Table
	Commands          []commands.Definition
}

// imageTables are the tables of the app's image: its own, then Imago's
// (the idempotency keys), which checkpoints and replay keep alike.
func (a *App) imageTables() []*memdb.Table {
	return append(slices.Clip(a.Tables), commands.IdempotencyKeys.Table())
}

// newImage is an empty image of the app.
func (a *App) newImage() (*memdb.Image, error) { return memdb.NewImage(a.imageTables()...) }

// Options configure Open. The zero value is the production default:
// durability always.
type Options struct {
	Durability commands.Durability
	// Strict makes a logged command that fails on replay fatal.
	Strict bool
	Logger *slog.Logger
	// Now stamps envelopes; default time.Now.
	Now func() time.Time
	// LogFS replaces the file system under the log (fault-injection tests).
	LogFS vfs.FS
	// Observer is told about the writer's work (metrics); may be nil.
	Observer commands.Observer
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
	// accepted now is remembered; default 24h (commands.Config).
	IdempotencyWindow time.Duration
	// TruncateLog removes, after each checkpoint, the log entries up to
	// the oldest checkpoint kept (see truncation.go). Off by default: the
	// log is the history, and only a whole log lets a new projection
	// rebuild its image.
	TruncateLog bool
	// Reactors run side effects for durable commands (see commands.Reactor).
	Reactors []commands.Reactor
	// ReactorMinBackoff and ReactorMaxBackoff bound the wait before a
	// failed reaction is retried; defaults 100ms and 30s.
	ReactorMinBackoff, ReactorMaxBackoff time.Duration
}

// DB is an open Imago database.
type DB struct {
	app      *App
	dir      string
	registry *commands.Registry
	image    *memdb.Image
	log      *wal.Log
	proc     *commands.Processor
	reactors *commands.Reactors

	logger         *slog.Logger
	fingerprint    [32]byte
	restored       Restored
	keep           int
	share          float64 // see Options.CheckpointShare
	truncateLog    bool
	ckptMu         sync.Mutex // one checkpoint at a time
	lastCheckpoint atomic.Pointer[CheckpointInfo]
	stop           chan struct{} // closed by Close: background work ends
	bg             sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Open opens the database in dir (created if missing) and replays its log.
func Open(dir string, app *App, opts Options) (*DB, error) {
	if app == nil || app.Name == "" {
		return nil, fmt.Errorf("imago: the app needs a name")
	}
	registry, err := commands.NewRegistry(app.Commands...)
	if err != nil {
		return nil, fmt.Errorf("imago: app %s: %w", app.Name, err)
	}
	if _, err := app.newImage(); err != nil { // also: no app table is named like Imago's
		return nil, fmt.Errorf("imago: app %s: %w", app.Name, err)
	}
	if opts.CheckpointsKeep <= 0 {
		opts.CheckpointsKeep = 3
	}
	if opts.CheckpointShare <= 0 || opts.CheckpointShare > 1 {
		opts.CheckpointShare = 0.25
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("imago: %w", err)
	}
	log, err := wal.Open(LogDir(dir), wal.Options{FS: opts.LogFS})
	if err != nil {
		return nil, fmt.Errorf("imago: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	fingerprint := app.Fingerprint()
	resumeGC := pauseGC()
	defer resumeGC()
	image, restored, err := restore(dir, app, fingerprint, log.LastSeq(), logger)
	if err == nil && restored.Seq+1 < log.FirstSeq() {
		err = truncatedError(dir, log.FirstSeq(), "the warnings above say why each was skipped")
	}
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("imago: open %s: %w", dir, err)
	}
	proc, err := commands.Start(commands.Config{
		Image: image, StartSeq: restored.Seq, Log: log, Registry: registry, Durability: opts.Durability,
		Strict: opts.Strict, Now: opts.Now, Logger: logger, Observer: opts.Observer,
		Progress:          newProgress(logger, "replaying the log", "commands").report,
		IdempotencyWindow: opts.IdempotencyWindow,
	})
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("imago: open %s: %w", dir, err)
	}
	reactors, err := commands.StartReactors(commands.ReactorConfig{Processor: proc, Log: log, Registry: registry, Logger: logger,
		MinBackoff: opts.ReactorMinBackoff, MaxBackoff: opts.ReactorMaxBackoff}, opts.Reactors)
	if err != nil {
		proc.Close()
		log.Close()
		return nil, fmt.Errorf("imago: open %s: %w", dir, err)
	}
	db := &DB{app: app, dir: dir, registry: registry, image: image, log: log, proc: proc, reactors: reactors,
		logger: logger, fingerprint: fingerprint, restored: restored, keep: opts.CheckpointsKeep, share: opts.CheckpointShare, truncateLog: opts.TruncateLog, stop: make(chan struct{})}
	if opts.CheckpointEvery > 0 || opts.CheckpointEveryBytes > 0 || opts.CheckpointInterval > 0 {
		db.bg.Add(1)
		go db.checkpointLoop(opts.CheckpointEvery, opts.CheckpointEveryBytes, opts.CheckpointInterval)
	}
	return db, nil
}

// Submit applies cmd and returns once it is durable (see commands.Processor.Submit).
func (db *DB) Submit(ctx context.Context, cmd commands.Command) (commands.Result, error) {
	return db.proc.Submit(ctx, cmd, commands.Meta{})
}

// SubmitMeta is Submit with an idempotency key, actor and cause.
func (db *DB) SubmitMeta(ctx context.Context, cmd commands.Command, meta commands.Meta) (commands.Result, error) {
	return db.proc.Submit(ctx, cmd, meta)
}

// SubmitAll applies cmds in order, each with its metas[i], logged together
// with one fsync (see commands.Processor.SubmitAll).
func (db *DB) SubmitAll(ctx context.Context, cmds []commands.Command, metas []commands.Meta) []commands.Outcome {
	return db.proc.SubmitAll(ctx, cmds, metas)
}

// DryRun tells what cmd would answer and change, changing nothing (see
// commands.Processor.DryRun).
func (db *DB) DryRun(cmd commands.Command, meta commands.Meta) (commands.Result, []memdb.Change, error) {
	return db.proc.DryRun(cmd, meta)
}

// Reactors reports the progress of the reactors (Options.Reactors).
func (db *DB) Reactors() []commands.ReactorStatus { return db.reactors.Status() }

// View is the published state: an immutable snapshot and its seq.
func (db *DB) View() *commands.View { return db.proc.View() }

// DurableSeq is the seq of the last command on stable storage as the
// durability mode promises it (see commands.Processor.DurableSeq).
func (db *DB) DurableSeq() uint64 { return db.proc.DurableSeq() }

// App is the application the database serves.
func (db *DB) App() *App { return db.app }

// Registry holds the app's command definitions.
func (db *DB) Registry() *commands.Registry { return db.registry }

// Tables are the app's tables (not Imago's own in the image).
func (db *DB) Tables() []*memdb.Table { return db.app.Tables }

// Recovery reports what Open replayed after the checkpoint it loaded.
func (db *DB) Recovery() commands.ReplayStats { return db.proc.Replay() }

// Restored reports the checkpoint Open loaded, if any.
func (db *DB) Restored() Restored { return db.restored }

// Stats reports the writer's counters.
func (db *DB) Stats() commands.WriterStats { return db.proc.Stats() }

// QueueDepth is the number of commands waiting for the writer.
func (db *DB) QueueDepth() int { return db.proc.QueueDepth() }

// Err is the reason the database stopped accepting writes, or nil.
func (db *DB) Err() error { return db.proc.Err() }

// Log is the command log, for reading.
func (db *DB) Log() *wal.Log { return db.log }

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
	image, base, _, err := replayBase(db.dir, db.app, db.fingerprint, db.log)
	db.ckptMu.Unlock()
	if err != nil {
		return fmt.Errorf("imago: verify: %w", err)
	}
	snap, _, err := commands.Replay(commands.Config{Image: image, StartSeq: base, Log: db.log, Registry: db.registry, Logger: slog.New(slog.DiscardHandler)}, view.Seq)
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
		db.reactors.Stop() // before the writer: a reaction may be submitting
		if err := errors.Join(db.proc.Close(), db.log.Close()); err != nil {
			db.closeErr = fmt.Errorf("imago: close: %w", err)
		}
	})
	return db.closeErr
}
