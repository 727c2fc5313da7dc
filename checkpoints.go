package imago

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/progress"
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
// ahead of the log) is skipped with a warning naming the file and the reason,
// and the next older one is tried; with none, the image is empty.
func restore(dataDir string, app *App, fingerprint [32]byte, logLast uint64, logger *slog.Logger) (*memdb.Image, Restored, error) {
	files, err := checkpoint.List(CheckpointDir(dataDir))
	if err != nil {
		return nil, Restored{}, err
	}
	for _, f := range files {
		if f.Seq > logLast {
			logger.Warn("checkpoint skipped", "file", f.Path, "reason", fmt.Sprintf("it is at seq %d, the log ends at %d", f.Seq, logLast))
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

// CheckpointInfo describes a checkpoint written by DB.Checkpoint.
type CheckpointInfo struct {
	Seq       uint64
	Path      string
	CreatedAt time.Time
	Rows      int64
	Bytes     int64
	Duration  time.Duration
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
	h := checkpoint.Header{Seq: view.Seq, Fingerprint: db.fingerprint, CreatedAt: start.UTC()}
	f, st, err := checkpoint.Write(CheckpointDir(db.dir), view.Snapshot, h, checkpoint.WriteOptions{Pause: db.throttle()})
	if err != nil {
		return CheckpointInfo{}, fmt.Errorf("imago: %w", err)
	}
	info := CheckpointInfo{Seq: f.Seq, Path: f.Path, CreatedAt: h.CreatedAt, Rows: st.Rows, Bytes: st.Bytes, Duration: time.Since(start)}
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
