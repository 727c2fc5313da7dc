package imago

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/progress"
	"github.com/imagodb/imago/wal"
	"github.com/imagodb/imago/writer"
)

// CheckpointDir is where a data directory keeps its checkpoints.
func CheckpointDir(dataDir string) string { return filepath.Join(dataDir, "checkpoints") }

// Restored says what Open loaded before replaying the log.
type Restored struct {
	Seq       uint64        // the checkpoint's seq; 0 if none was loaded
	Path      string        // the checkpoint file
	CreatedAt time.Time     // when it was written
	Rows      int64         // rows loaded
	Duration  time.Duration // time the load took
}

// restore loads the newest usable checkpoint of dataDir into a new image. A
// checkpoint that cannot be used (damaged, truncated, another projection,
// another history than the log's) is skipped with a warning naming the file
// and the reason, and the next older one is tried; with none, the image is
// empty. A checkpoint past the log's end is proof that the log lost
// entries once synced: restore refuses, saying what is missing.
func restore(dataDir string, app *App, fingerprint [32]byte, log *wal.Log, logger *slog.Logger) (*memdb.Image, Restored, error) {
	removeTemporaries(CheckpointDir(dataDir), logger)
	files, err := checkpoint.List(CheckpointDir(dataDir))
	if err != nil {
		return nil, Restored{}, err
	}
	if len(files) > 0 && files[0].Seq > log.LastSeq() {
		return nil, Restored{}, &LostEntriesError{Dir: dataDir, Last: log.LastSeq(), Upto: files[0].Seq, Evidence: "checkpoint " + files[0].Path}
	}
	for _, f := range files {
		if reason := diverged(f, log); reason != "" {
			logger.Warn("checkpoint skipped", "file", f.Path, "reason", reason)
			continue
		}
		image, err := app.newImage()
		if err != nil {
			return nil, Restored{}, err
		}
		start := time.Now()
		h, st, err := checkpoint.Load(f.Path, image, fingerprint, progress.New(logger.With("file", f.Path), "loading a checkpoint", "bytes").Report)
		if err != nil {
			reason := err.Error()
			if errors.Is(err, checkpoint.ErrMismatch) {
				reason = "written by another projection (tables, commands or projection version changed): the image is rebuilt from the log"
			}
			logger.Warn("checkpoint skipped", "file", f.Path, "reason", reason)
			continue
		}
		return image, Restored{Seq: h.Seq, Path: f.Path, CreatedAt: h.CreatedAt, Rows: st.Rows, Duration: time.Since(start)}, nil
	}
	image, err := app.newImage()
	return image, Restored{}, err
}

// removeTemporaries removes the temporary files of checkpoints whose
// writing a crash interrupted (a complete checkpoint is renamed from its
// temporary file, so these are never whole).
func removeTemporaries(dir string, logger *slog.Logger) {
	tmps, _ := filepath.Glob(filepath.Join(dir, "*"+checkpoint.TempSuffix))
	for _, tmp := range tmps {
		if err := os.Remove(tmp); err != nil {
			logger.Warn("cannot remove an unfinished checkpoint", "file", tmp, "err", err)
			continue
		}
		logger.Info("removed an unfinished checkpoint", "file", tmp)
	}
}

// diverged says why the checkpoint f holds another history than log's (its
// last entry differs from the log's entry at its seq), or "".
func diverged(f checkpoint.File, log *wal.Log) string {
	h, err := checkpoint.Inspect(f.Path)
	if err != nil || h.LastEntry == ([32]byte{}) {
		return "" // unreadable: Load says why; format 1: nothing to compare
	}
	got, found, err := entryDigest(log, h.Seq)
	switch {
	case err != nil:
		return fmt.Sprintf("the log's entry at its seq %d cannot be read: %v", h.Seq, err)
	case found && got != h.LastEntry:
		return fmt.Sprintf("the log's entry at its seq %d is not the one it was written after: the log was replaced or rewritten since, and the image it holds belongs to another history", h.Seq)
	}
	return ""
}

// SetAsideCheckpoints moves the checkpoints of dataDir that do not belong
// to log's history (past its end, or written after another entry at their
// seq) into checkpoints/set-aside-<at>/, where no start looks, and returns
// their new paths. The log must not be written meanwhile.
func SetAsideCheckpoints(dataDir string, log *wal.Log, at time.Time) ([]string, error) {
	files, err := checkpoint.List(CheckpointDir(dataDir))
	if err != nil {
		return nil, err
	}
	aside := filepath.Join(CheckpointDir(dataDir), "set-aside-"+at.UTC().Format("20060102T150405Z"))
	var moved []string
	for _, f := range files {
		if f.Seq <= log.LastSeq() && diverged(f, log) == "" {
			continue
		}
		if err := os.MkdirAll(aside, 0o755); err != nil {
			return moved, err
		}
		to := filepath.Join(aside, filepath.Base(f.Path))
		if err := os.Rename(f.Path, to); err != nil {
			return moved, err
		}
		moved = append(moved, to)
	}
	return moved, nil
}

// entryDigest is checkpoint.EntryDigest of the log's entry at seq (found
// false: no such entry, e.g. seq 0 or truncated).
func entryDigest(log *wal.Log, seq uint64) (digest [32]byte, found bool, err error) {
	if seq == 0 || seq < log.FirstSeq() {
		return digest, false, nil
	}
	err = log.ReadValues(seq, seq, func(_ uint64, value []byte) error {
		digest, found = checkpoint.EntryDigest(value), true
		return nil
	})
	return digest, found, err
}

// LostEntriesError is a data directory whose log ends before a seq it is
// known to have held (its high-water mark, or a checkpoint past its end):
// acknowledged commands are missing. Open refuses it; the operator restores
// the log or accepts the loss (offline.AcceptLoss, `imago log accept-loss`).
type LostEntriesError struct {
	Dir      string
	Last     uint64 // the log's last seq
	Upto     uint64 // the highest seq known to have been logged
	Evidence string // what tells: the high-water mark, a checkpoint file
}

func (e *LostEntriesError) Error() string {
	return fmt.Sprintf("the log of %s ends at seq %d, but %s shows that seqs up to %d were logged and synced: acknowledged commands %d..%d are missing. "+
		"Restore %s (with log.mark) from a copy that holds them and start again; or accept their loss explicitly with `imago log accept-loss --data %s`, "+
		"which records the repair and sets aside every checkpoint past seq %d, so that new commands never mix with the lost history",
		e.Dir, e.Last, e.Evidence, e.Upto, e.Last+1, e.Upto, LogDir(e.Dir), e.Dir, e.Last)
}

// openLog opens dir's log for a database, turning the log's refusals into
// what the operator can do.
func openLog(dir string, opts Options) (*wal.Log, error) {
	o := wal.Options{FS: opts.LogFS}
	switch opts.Durability.Mode {
	case writer.Interval:
		o.SyncInterval = opts.Durability.Interval
	case writer.None:
		o.SyncInterval = time.Second // fsync on its own, never waited for
	}
	log, err := wal.Open(LogDir(dir), o)
	var lost *wal.LostEntriesError
	var damaged *wal.WALDamageError
	switch {
	case errors.As(err, &lost):
		return nil, &LostEntriesError{Dir: dir, Last: lost.Last, Upto: lost.Mark, Evidence: "its high-water mark " + wal.MarkPath(LogDir(dir))}
	case errors.As(err, &damaged):
		return nil, fmt.Errorf("%w; `imago log verify --data %s` reports what is readable", err, dir)
	}
	return log, err
}

// CheckpointInfo describes a checkpoint written by DB.Checkpoint.
type CheckpointInfo struct {
	Seq       uint64
	Path      string
	CreatedAt time.Time
	Rows      int64
	Bytes     int64
	Duration  time.Duration
	ImageHash [32]byte // the image's memdb.Snapshot.Hash at Seq
}

// Checkpoint writes the published image to a checkpoint file (a log line
// says so) and removes the files beyond the newest Options.CheckpointsKeep. Writes go on meanwhile.
// One checkpoint is written at a time; a call while one is being written
// waits for it.
func (db *DB) Checkpoint() (CheckpointInfo, error) {
	db.ckptMu.Lock()
	defer db.ckptMu.Unlock()
	view := db.View()
	// A checkpoint holds only durable commands: in durability interval or
	// none the published image may be ahead of the disk.
	if db.log.SyncedSeq() < view.Seq {
		if err := db.log.Sync(); err != nil {
			return CheckpointInfo{}, fmt.Errorf("imago: checkpoint: %w", err)
		}
	}
	start := time.Now()
	last, _, err := entryDigest(db.log, view.Seq)
	if err != nil {
		return CheckpointInfo{}, fmt.Errorf("imago: checkpoint: %w", err)
	}
	h := checkpoint.Header{Seq: view.Seq, Fingerprint: db.fingerprint, CreatedAt: start.UTC(), LastEntry: last}
	f, st, err := checkpoint.Write(CheckpointDir(db.dir), view.Snapshot, h, checkpoint.WriteOptions{Pause: db.throttle()})
	if err != nil {
		return CheckpointInfo{}, fmt.Errorf("imago: %w", err)
	}
	info := CheckpointInfo{Seq: f.Seq, Path: f.Path, CreatedAt: h.CreatedAt, Rows: st.Rows, Bytes: st.Bytes, Duration: time.Since(start), ImageHash: st.ImageHash}
	db.lastCheckpoint.Store(&info)
	db.logger.Info("checkpoint written", "seq", info.Seq, "file", info.Path, "rows", info.Rows, "bytes", info.Bytes, "ms", info.Duration.Milliseconds())
	kept, err := db.pruneCheckpoints()
	if err != nil || !db.truncateLog {
		return info, err
	}
	return info, db.truncateBeforeCheckpoints(kept)
}

// throttle paces a checkpoint while commands are being written: it then
// works at most db.share of the time, so that the writer (and the clients
// waiting on it) keep most of the machine. While nothing is written (a
// stop, an idle server) it runs at full speed.
func (db *DB) throttle() func(worked time.Duration) {
	if db.share >= 1 {
		return nil
	}
	seq := db.View().Seq
	return func(worked time.Duration) {
		now := db.View().Seq
		if now == seq {
			return
		}
		seq = now
		time.Sleep(time.Duration(float64(worked) * (1 - db.share) / db.share))
	}
}

// LastCheckpoint is the checkpoint this process wrote last, or nil.
func (db *DB) LastCheckpoint() *CheckpointInfo { return db.lastCheckpoint.Load() }

// NewestCheckpoint is the seq and time of the newest checkpoint this process
// knows: the one it wrote last, else the one it started from (seq 0: none).
func (db *DB) NewestCheckpoint() (uint64, time.Time) {
	if c := db.LastCheckpoint(); c != nil {
		return c.Seq, c.CreatedAt
	}
	return db.restored.Seq, db.restored.CreatedAt
}

// pruneCheckpoints removes the files beyond the newest CheckpointsKeep and
// returns those kept, newest first. It
// runs after a new file is complete (written, synced, renamed): that file has
// the highest seq, so it is always among those kept and a valid checkpoint
// always remains.
func (db *DB) pruneCheckpoints() ([]checkpoint.File, error) {
	files, err := checkpoint.List(CheckpointDir(db.dir))
	if err != nil || len(files) <= db.keep {
		return files, err
	}
	var errs []error
	for _, f := range files[db.keep:] {
		if err := os.Remove(f.Path); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return files[:db.keep], fmt.Errorf("imago: remove old checkpoints: %w", errors.Join(errs...))
	}
	return files[:db.keep], nil
}

// checkpointLoop writes a checkpoint when every commands were written since
// the last one, or the log grew by everyBytes, or interval has passed and
// there is anything new. A failure is logged; the next tick tries again.
func (db *DB) checkpointLoop(every, everyBytes uint64, interval time.Duration) {
	defer db.bg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSeq, lastBytes, lastAt := db.restored.Seq, uint64(0), time.Now()
	for {
		select {
		case <-db.stop:
			return
		case <-tick.C:
		}
		seq, bytes := db.View().Seq, db.log.AppendedBytes()
		due := (every > 0 && seq-lastSeq >= every) || (everyBytes > 0 && bytes-lastBytes >= everyBytes) ||
			(interval > 0 && time.Since(lastAt) >= interval && seq > lastSeq)
		if !due {
			continue
		}
		info, err := db.Checkpoint()
		if err != nil {
			db.logger.Error("checkpoint failed", "err", err)
			continue
		}
		lastSeq, lastBytes, lastAt = info.Seq, bytes, time.Now()
	}
}

// Log truncation (Options.TruncateLog) trades history for disk: after each
// checkpoint, the log entries up to the oldest checkpoint kept are removed.
// The state they produced lives on in the checkpoints, so every kept
// checkpoint still recovers (it is at or after the log's start), but a
// change of projection can no longer rebuild the image from the whole log:
// Open then refuses to start instead of starting from a partial history.

// truncateBeforeCheckpoints removes the log entries up to the oldest of the
// kept checkpoints (newest first) that this projection can load (frame
// sound, same fingerprint), but none a reactor has yet to get. With no
// such checkpoint, the log is left whole.
func (db *DB) truncateBeforeCheckpoints(kept []checkpoint.File) error {
	for _, f := range slices.Backward(kept) { // oldest first
		h, err := checkpoint.Inspect(f.Path)
		if err != nil || h.Fingerprint != db.fingerprint || h.Seq > db.log.SyncedSeq() {
			continue
		}
		first, upTo := db.log.FirstSeq(), h.Seq+1
		if slowest, ok := db.reactors.SlowestCursor(); ok && slowest+1 < upTo {
			upTo = slowest + 1
		}
		for _, r := range db.ReplicaSlots() { // what it may not have applied
			upTo = min(upTo, min(r.Seq, r.Acked)+1)
		}
		if err := db.log.Truncate(upTo); err != nil {
			return fmt.Errorf("imago: truncate the log after %s: %w", f.Path, err)
		}
		if upTo > first {
			db.logger.Info("log truncated", "first_seq", upTo, "removed", upTo-first, "checkpoint", f.Path)
		}
		return nil
	}
	return nil
}

// truncatedError is the refusal to replay a truncated log (first is its
// FirstSeq) for want of a checkpoint holding the state before it; why says
// what became of the checkpoints there are.
func truncatedError(dataDir string, first uint64, why string) error {
	return fmt.Errorf("the log begins at seq %d (the entries before it were removed by log truncation) and no usable checkpoint at seq %d or later is in %s (%s): the state before seq %d exists only in checkpoints; put back one written by this projection, or run the version of the application that wrote them",
		first, first-1, CheckpointDir(dataDir), why, first)
}

// ReplayBase is where a replay of dataDir's log starts: an empty image at
// seq 0 for a whole log; for a truncated one, the oldest checkpoint at or
// after the log's start that loads (checksum and fingerprint verified). path
// names that checkpoint ("" for none).
func ReplayBase(dataDir string, app *App, log *wal.Log) (image *memdb.Image, seq uint64, path string, err error) {
	fingerprint := app.Fingerprint()
	image, err = app.newImage()
	if err != nil || log.FirstSeq() <= 1 {
		return image, 0, "", err
	}
	files, err := checkpoint.List(CheckpointDir(dataDir))
	if err != nil {
		return nil, 0, "", err
	}
	var skipped []string
	for _, f := range slices.Backward(files) {
		if f.Seq+1 < log.FirstSeq() || f.Seq > log.LastSeq() {
			continue
		}
		if image, err = app.newImage(); err != nil {
			return nil, 0, "", err
		}
		if _, _, err := checkpoint.Load(f.Path, image, fingerprint, nil); err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		return image, f.Seq, f.Path, nil
	}
	why := "there is none"
	if len(skipped) > 0 {
		why = strings.Join(skipped, "; ")
	}
	return nil, 0, "", truncatedError(dataDir, log.FirstSeq(), why)
}
