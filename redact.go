package imago

import (
	"bufio"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/redaction"
	"github.com/imagodb/imago/wal"
)

// Redaction replaces payload fields of chosen log entries with
// redaction.Marker for good (package redaction proves first that replay
// changes nothing else). DB.Redact does it on a running primary,
// RedactDir on a stopped data directory; both rewrite the entries in the
// log (same seq, name, time), purge the old bytes from the log's files,
// rewrite the checkpoints at or after the first redacted seq (or remove
// those of another projection), and record it in RedactionsFile.

// ErrBadRedaction is wrapped by the refusal of a redaction that chooses no
// entry, names no field, or lacks who or why: nothing is written.
var ErrBadRedaction = errors.New("bad redaction")

// RedactionsFile records, in a data directory, each redaction: who, when,
// why and what (seqs and fields, never the values), one JSON line each.
// Its line count is the redaction epoch replicas compare.
const RedactionsFile = "log.redactions"

// Redaction is a redaction to do: the entries and fields, who and why.
type Redaction struct {
	redaction.Selection
	Actor, Reason string
	Now           time.Time // default time.Now
}

// RedactionRecord is a line of RedactionsFile (and a row of
// imago.redactions): what was redacted, never the values.
type RedactionRecord struct {
	Epoch  uint64    `json:"epoch"` // 1 for the directory's first redaction, then 2, ...
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	Fields []string  `json:"fields"`
	// Where is the payload field the entries were chosen by (its value is
	// not recorded: it may be one of the values redacted).
	Where   string   `json:"where,omitempty"`
	Seqs    []uint64 `json:"seqs"`
	Derived []string `json:"derived,omitempty"` // columns the operator declared derived
	// Replayed is the commands the proof replayed (twice); DerivedCells the
	// cells of changed rows that differ, all derived.
	Replayed     uint64 `json:"replayed"`
	DerivedCells uint64 `json:"derived_cells"`
	// Rewritten and Removed are the checkpoint files at or after the first
	// redacted seq: rewritten from the redacted replay, or removed (another
	// projection's, which this build cannot rebuild).
	Rewritten []string `json:"rewritten_checkpoints,omitempty"`
	Removed   []string `json:"removed_checkpoints,omitempty"`
}

// ReadRedactions reads dataDir's RedactionsFile (none: no redaction).
func ReadRedactions(dataDir string) ([]RedactionRecord, error) {
	f, err := os.Open(filepath.Join(dataDir, RedactionsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []RedactionRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r RedactionRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s, line %d: %w", RedactionsFile, len(recs)+1, err)
		}
		recs = append(recs, r)
	}
	return recs, sc.Err()
}

// appendRedaction appends rec to dataDir's RedactionsFile, synced, with
// the next epoch.
func appendRedaction(dataDir string, rec *RedactionRecord) error {
	recs, err := ReadRedactions(dataDir)
	if err != nil {
		return err
	}
	rec.Epoch = uint64(len(recs)) + 1
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dataDir, RedactionsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// redactionPlan is a redaction proven up to a seq: the new values, the
// proof (whose redacted replay is the image to publish), and the
// checkpoints to rewrite, with the redacted image at their seqs.
type redactionPlan struct {
	r           Redaction
	registry    *commands.Registry
	fingerprint [32]byte
	values      map[uint64][]byte
	first       uint64
	proof       *redaction.Proof
	files       []checkpoint.File          // at or after first
	snaps       map[uint64]*memdb.Snapshot // the redacted image at those of this projection
	seqs        []uint64                   // the seqs rewritten in the log (after write)
}

// planRedaction selects the entries of log up to seq to and proves the
// redaction up to there.
func planRedaction(dataDir string, app *App, registry *commands.Registry, upcaster envelope.Upcaster, log *wal.Log, r Redaction, to uint64) (*redactionPlan, error) {
	if r.Actor == "" || r.Reason == "" {
		return nil, fmt.Errorf("%w: a redaction needs who (actor) and why (reason): they are recorded", ErrBadRedaction)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRedaction, err)
	}
	for _, s := range r.Seqs {
		if s == 0 || s > log.LastSeq() {
			return nil, fmt.Errorf("%w: seq %d is not in the log (it ends at %d)", ErrBadRedaction, s, log.LastSeq())
		}
	}
	values, err := redaction.Select(log, log.FirstSeq(), to, r.Selection)
	if err != nil {
		return nil, err
	}
	pl := &redactionPlan{r: r, registry: registry, fingerprint: app.Fingerprint(), values: values, snaps: map[uint64]*memdb.Snapshot{}}
	pl.first = to + 1
	if seqs := redaction.Seqs(values); len(seqs) > 0 {
		pl.first = seqs[0]
	}
	for _, s := range r.Seqs {
		pl.first = min(pl.first, s) // one beyond to is proven when the plan is extended
	}
	image, base, err := baseBefore(dataDir, app, log, pl.first)
	if err != nil {
		return nil, err
	}
	if pl.proof, err = redaction.NewProof(registry, upcaster, image, base, r.Derived); err != nil {
		return nil, err
	}
	files, err := checkpoint.List(CheckpointDir(dataDir))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Seq >= pl.first {
			pl.files = append(pl.files, f)
		}
	}
	return pl, pl.run(log, to)
}

// extend selects and proves the entries from..to too (logged since the
// plan was made).
func (pl *redactionPlan) extend(log *wal.Log, from, to uint64) error {
	if to < from {
		return nil
	}
	more, err := redaction.Select(log, from, to, pl.r.Selection)
	if err != nil {
		return err
	}
	for s, v := range more {
		pl.values[s] = v
	}
	return pl.run(log, to)
}

// run proves the plan up to to, keeping the redacted image at the seqs of
// this projection's checkpoints.
func (pl *redactionPlan) run(log *wal.Log, to uint64) error {
	want := map[uint64]bool{}
	for _, f := range pl.files {
		if h, err := checkpoint.Inspect(f.Path); err == nil && h.Fingerprint == pl.fingerprint {
			want[f.Seq] = true
		}
	}
	return pl.proof.Run(log, pl.values, to, want, func(seq uint64, red *memdb.Image) error {
		pl.snaps[seq] = red.Snapshot()
		return nil
	})
}

// write removes the checkpoints at or after the first redacted seq (a
// crash after it leaves the log as it was, and the older checkpoints to
// start from), replaces the entries in the log (one synced batch) and
// records the redaction. The old bytes stay on disk until finish.
func (pl *redactionPlan) write(dataDir string, log *wal.Log) (*RedactionRecord, error) {
	if len(pl.values) == 0 {
		return nil, fmt.Errorf("%w: no entry chosen holds the fields %v with a value to redact", ErrBadRedaction, pl.r.Fields)
	}
	now := pl.r.Now
	if now.IsZero() {
		now = time.Now()
	}
	rec := &RedactionRecord{Time: now.UTC(), Actor: pl.r.Actor, Reason: pl.r.Reason, Fields: pl.r.Fields, Where: pl.r.WhereField,
		Seqs: redaction.Seqs(pl.values), Derived: pl.r.Derived, Replayed: pl.proof.Commands, DerivedCells: pl.proof.Differing}
	for _, f := range pl.files {
		if err := os.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if _, ok := pl.snaps[f.Seq]; ok {
			rec.Rewritten = append(rec.Rewritten, filepath.Base(f.Path))
		} else {
			rec.Removed = append(rec.Removed, filepath.Base(f.Path))
		}
	}
	removed, err := removeSetAside(dataDir, pl.first)
	if err != nil {
		return nil, err
	}
	rec.Removed = append(rec.Removed, removed...)
	if pl.seqs, err = log.Replace(pl.values); err != nil {
		return nil, err
	}
	if err := appendRedaction(dataDir, rec); err != nil {
		return rec, fmt.Errorf("the redaction is not recorded in %s (replicas are not told): %w", RedactionsFile, err)
	}
	return rec, nil
}

// removeSetAside removes the checkpoints set aside (accept-loss) at or
// after seq first: they may hold the values too.
func removeSetAside(dataDir string, first uint64) ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(CheckpointDir(dataDir), "set-aside-*"))
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, d := range dirs {
		files, err := checkpoint.List(d)
		if err != nil {
			return removed, err
		}
		for _, f := range files {
			if f.Seq < first {
				continue
			}
			if err := os.Remove(f.Path); err != nil {
				return removed, err
			}
			removed = append(removed, filepath.Join(filepath.Base(d), filepath.Base(f.Path)))
		}
	}
	return removed, nil
}

// finish purges the old values from the log's files and writes the
// checkpoints removed by write again, from the redacted replay (their last
// entry's digest is the redacted entry's). It returns the newest one
// written, if any.
func (pl *redactionPlan) finish(dataDir string, log *wal.Log) (*CheckpointInfo, error) {
	if len(pl.seqs) == 0 {
		return nil, nil
	}
	if err := log.Purge(pl.seqs[0], pl.seqs[len(pl.seqs)-1]); err != nil {
		return nil, err
	}
	seqs := make([]uint64, 0, len(pl.snaps))
	for s := range pl.snaps {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	var newest *CheckpointInfo
	for _, seq := range seqs {
		last, _, err := entryDigest(log, seq)
		if err != nil {
			return newest, err
		}
		start := time.Now()
		h := checkpoint.Header{Seq: seq, Fingerprint: pl.fingerprint, CreatedAt: start.UTC(), LastEntry: last}
		f, st, err := checkpoint.Write(CheckpointDir(dataDir), pl.snaps[seq], h, checkpoint.WriteOptions{})
		if err != nil {
			return newest, err
		}
		newest = &CheckpointInfo{Seq: seq, Path: f.Path, CreatedAt: h.CreatedAt, Rows: st.Rows, Bytes: st.Bytes, Duration: time.Since(start), ImageHash: st.ImageHash}
	}
	return newest, nil
}

// baseBefore is where a redaction's proof starts: the newest checkpoint of
// this projection before seq first that loads and the log continues from,
// or the empty image at seq 0 of a whole log.
func baseBefore(dataDir string, app *App, log *wal.Log, first uint64) (*memdb.Image, uint64, error) {
	files, err := checkpoint.List(CheckpointDir(dataDir))
	if err != nil {
		return nil, 0, err
	}
	fp := app.Fingerprint()
	for _, f := range files { // newest first
		if f.Seq >= first || f.Seq+1 < log.FirstSeq() || diverged(f, log) != "" {
			continue
		}
		image, err := app.newImage()
		if err != nil {
			return nil, 0, err
		}
		if _, _, err := checkpoint.Load(f.Path, image, fp, nil); err == nil {
			return image, f.Seq, nil
		}
	}
	if log.FirstSeq() > 1 {
		return nil, 0, fmt.Errorf("the log begins at seq %d (truncated) and no checkpoint of this projection between seq %d and the first redacted seq %d loads: the proof has no state to start from", log.FirstSeq(), log.FirstSeq()-1, first)
	}
	image, err := app.newImage()
	return image, 0, err
}

// RedactDir redacts the log of a stopped data directory (see Redaction);
// it refuses, writing nothing, if replay would differ in more than values
// derived from the redacted fields (*redaction.RefusedError).
func RedactDir(dataDir string, app *App, r Redaction) (*RedactionRecord, error) {
	registry, err := app.check()
	if err != nil {
		return nil, err
	}
	if err := CheckDataDir(dataDir, app); err != nil {
		return nil, err
	}
	chain, err := app.chain(registry)
	if err != nil {
		return nil, err
	}
	log, err := wal.Open(LogDir(dataDir), wal.Options{})
	if err != nil {
		return nil, err
	}
	defer log.Close()
	pl, err := planRedaction(dataDir, app, registry, app.upcaster(chain), log, r, log.LastSeq())
	if err != nil {
		return nil, err
	}
	rec, writeErr := pl.write(dataDir, log)
	if pl.seqs == nil {
		return nil, writeErr
	}
	_, err = pl.finish(dataDir, log)
	return rec, errors.Join(writeErr, err)
}

// Redact redacts the log of this running primary (see Redaction). The
// proof replays the log up to the published seq while writes go on; then,
// in the writer (Exclusive: writes wait), it proves the entries logged
// meanwhile, rewrites the log and publishes the redacted replay's image;
// then, with writes going on again, it purges the old bytes from the log's
// files and rewrites the checkpoints. No checkpoint is written meanwhile.
// A refusal (*redaction.RefusedError) writes nothing.
func (db *DB) Redact(ctx context.Context, r Redaction) (*RedactionRecord, error) {
	if db.replicaOf != "" {
		return nil, fmt.Errorf("%w: this is a read-only replica; redact on its primary, %s (replicas bootstrap again)", commands.ErrNotAccepting, db.replicaOf)
	}
	db.ckptMu.Lock()
	defer db.ckptMu.Unlock()
	to := db.View().Seq
	pl, err := planRedaction(db.dir, db.app, db.registry, db.upcaster, db.log, r, to)
	if err != nil {
		return nil, err
	}
	var rec *RedactionRecord
	var writeErr error
	err = db.writer.Exclusive(ctx, func(image *memdb.Image, seq uint64) error {
		if err := pl.extend(db.log, to+1, seq); err != nil {
			return err
		}
		db.audit.rewriting(func() bool {
			rec, writeErr = pl.write(db.dir, db.log)
			return pl.seqs != nil
		})
		if pl.seqs == nil {
			return writeErr // the log is as it was
		}
		// The log holds the redacted entries: the image must be their
		// replay, whether or not the record could be written.
		image.Reset(pl.proof.Image().Snapshot())
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.past.forget()
	if writeErr == nil {
		db.redactionEpoch.Store(rec.Epoch)
	}
	newest, err := pl.finish(db.dir, db.log)
	if last := db.lastCheckpoint.Load(); last != nil && last.Seq >= pl.first {
		db.lastCheckpoint.Store(newest) // nil when it was removed: no hash to compare
	}
	if err = errors.Join(writeErr, err); err != nil {
		return rec, fmt.Errorf("imago: redaction: the log is rewritten, but: %w", err)
	}
	db.logger.Info("log redacted", "epoch", rec.Epoch, "entries", len(rec.Seqs), "fields", rec.Fields, "actor", rec.Actor,
		"checkpoints_rewritten", len(rec.Rewritten), "checkpoints_removed", len(rec.Removed))
	return rec, nil
}

// RedactionEpoch is the number of redactions of this database's log:
// replicas with an older one bootstrap again (their copies hold the old
// values).
func (db *DB) RedactionEpoch() uint64 { return db.redactionEpoch.Load() }

// Redactions are the redactions of this database's log (imago.redactions).
func (db *DB) Redactions() ([]RedactionRecord, error) { return ReadRedactions(db.dir) }

// forget drops the past states built or sampled before a redaction: they
// hold the values it removed. Builds in progress are cancelled.
func (p *pastStates) forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	for _, f := range p.flights {
		f.cancel()
	}
	p.cache, p.flights, p.ladder, p.bytes = map[uint64]*list.Element{}, map[uint64]*flight{}, nil, 0
	p.lru.Init()
}
