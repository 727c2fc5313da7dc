// Package replica follows a primary's command log: a read-only copy of its
// database that serves SQL, bootstrapped from the primary's newest
// checkpoint of the same projection (or from seq 1, for another
// projection), then fed the primary's log entries as they become durable
// there. The replica's log is a copy of the primary's (same seqs, same
// bytes), applied with the same code, so its image is the primary's.
//
// Guarantees:
//   - Entries are applied in seq order without gaps or duplicates, also
//     across a lost connection, a restarted primary or a restarted replica:
//     the replica resumes after its own last logged seq.
//   - A bootstrap checkpoint is verified (checksum, projection fingerprint)
//     before it is used; an interrupted download resumes (HTTP Range).
//   - When the primary's log no longer holds what the replica needs (410),
//     the replica sets its data aside and bootstraps again; after a
//     redaction it removes its copy and bootstraps again. Either bootstrap
//     is retried with backoff, logged, until the primary answers: the
//     replica does not stay closed because the primary was away then.
//   - Queries on the replica read immutable snapshots: applying the
//     primary's entries never cancels or waits for a query.
package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imagodb/imago"
)

// Config configures a replica.
type Config struct {
	Primary string // the primary's HTTP API, e.g. http://10.0.0.5:8080
	Token   string // a bearer token of the primary with the log and checkpoints scopes
	Name    string // this replica's name, sent to the primary
	Data    string // the replica's own data directory
	App     *imago.App
	// Options open the replica's database (durability, checkpoints);
	// ReplicaOf is set from Primary.
	Options imago.Options
	Logger  *slog.Logger
	Client  *http.Client // default: no overall timeout (the log stream is long-lived)
	// MinBackoff and MaxBackoff bound the wait before a reconnection;
	// defaults 100ms and 10s.
	MinBackoff, MaxBackoff time.Duration
}

// Replica is a running replica.
type Replica struct {
	cfg   Config
	mu    sync.Mutex // guards db (replaced by a re-bootstrap), st and check
	db    *imago.DB
	st    Status
	check *imageAt // the primary's image hash to compare at its seq
	// checking: a comparison at a past seq runs in the background; checks
	// waits for it before the database is closed (it reads its log).
	checking bool
	checks   sync.WaitGroup
	// acking: an acknowledgement to the primary is under way; acks waits
	// for it before the replica closes.
	acking atomic.Bool
	acks   sync.WaitGroup
	// stopFollow ends the follower (set while Run runs): a divergence
	// found in the background stops the applying.
	stopFollow context.CancelFunc
}

// Status is how far a replica is, as imago.status shows it.
type Status struct {
	Primary    string
	State      string    // bootstrapping, connecting, streaming, waiting to reconnect, ...
	PrimarySeq uint64    // the primary's durable seq, last heard
	Contact    time.Time // when the primary was last heard from
	// CaughtUp is when the replica last had applied all the primary had
	// said was durable.
	CaughtUp   time.Time
	LastError  string
	Bootstraps int // bootstraps done by this process
	// Verified is the last seq at which the replica's image hash was the
	// primary's (0: none compared yet); Diverged, where it was not.
	Verified uint64
	Diverged *Divergence
}

// Open opens the replica's data directory, bootstrapping it from the
// primary when it is new.
func Open(ctx context.Context, cfg Config) (*Replica, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(10*time.Second, cfg.MinBackoff)
	}
	cfg.Primary = strings.TrimSuffix(cfg.Primary, "/")
	if !strings.Contains(cfg.Primary, "://") {
		cfg.Primary = "http://" + cfg.Primary
	}
	cfg.Options.ReplicaOf = cfg.Primary
	r := &Replica{cfg: cfg, st: Status{Primary: cfg.Primary, State: "opening"}}
	if err := r.open(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// open opens the database, bootstrapping a new data directory first.
func (r *Replica) open(ctx context.Context) error {
	if _, err := os.Stat(imago.LogDir(r.cfg.Data)); errors.Is(err, os.ErrNotExist) {
		r.setState("bootstrapping")
		if err := r.bootstrapAtEpoch(ctx); err != nil {
			return fmt.Errorf("replica: bootstrap from %s: %w", r.cfg.Primary, err)
		}
		r.mu.Lock()
		r.st.Bootstraps++
		r.mu.Unlock()
	}
	db, err := imago.Open(r.cfg.Data, r.cfg.App, r.cfg.Options)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.db = db
	r.mu.Unlock()
	return nil
}

// DB is the replica's database (replaced by a re-bootstrap).
func (r *Replica) DB() *imago.DB {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.db
}

// Status reports how far the replica is.
func (r *Replica) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// Lag is how many commands and how long the replica is behind the
// primary, as far as it last heard: 0 when caught up.
func (r *Replica) Lag() (commands uint64, behind time.Duration) {
	st, seq := r.Status(), r.DB().View().Seq
	if seq >= st.PrimarySeq {
		return 0, 0
	}
	since := st.CaughtUp
	if since.IsZero() {
		since = st.Contact
	}
	return st.PrimarySeq - seq, time.Since(since)
}

// Close closes the replica's database, once no comparison reads it and no
// acknowledgement is under way.
func (r *Replica) Close() error {
	r.checks.Wait()
	r.acks.Wait()
	return r.DB().Close()
}

func (r *Replica) setState(state string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.State = state
}

// heard records what the primary said: its durable seq, now.
func (r *Replica) heard(primarySeq, applied uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.st.Contact = now
	r.st.PrimarySeq = max(r.st.PrimarySeq, primarySeq)
	if applied >= r.st.PrimarySeq {
		r.st.CaughtUp = now
	}
}

// setAside moves the replica's log and checkpoints into
// <data>/set-aside-<time>/ before a new bootstrap.
func (r *Replica) setAside() error {
	aside := filepath.Join(r.cfg.Data, "set-aside-"+time.Now().UTC().Format("20060102T150405.000Z"))
	if err := os.MkdirAll(aside, 0o755); err != nil {
		return err
	}
	log := imago.LogDir(r.cfg.Data)
	for _, p := range []string{log, log + ".mark", log + ".repairs", imago.CheckpointDir(r.cfg.Data)} {
		if err := os.Rename(p, filepath.Join(aside, filepath.Base(p))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	r.cfg.Logger.Warn("replica set its data aside to bootstrap again", "dir", aside)
	return nil
}
