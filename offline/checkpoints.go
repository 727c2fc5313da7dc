package offline

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/checkpoint"
)

// CheckpointFile is a checkpoint of a data directory as `imago checkpoint
// list` shows it: the file, its header, and why it would not be loaded.
type CheckpointFile struct {
	checkpoint.File
	Header checkpoint.Header
	// Problem is empty if the file's frame is sound and it was written by
	// app's projection; the checksum is not read (VerifyCheckpoints does).
	Problem string
}

// ListCheckpoints lists the checkpoints of dataDir, newest first.
func ListCheckpoints(dataDir string, app *imago.App) ([]CheckpointFile, error) {
	if err := imago.CheckDataDir(dataDir, app); err != nil {
		return nil, err
	}
	files, err := checkpoint.List(imago.CheckpointDir(dataDir))
	if err != nil {
		return nil, err
	}
	fingerprint := app.Fingerprint()
	list := make([]CheckpointFile, len(files))
	for i, f := range files {
		list[i].File = f
		h, err := checkpoint.Inspect(f.Path)
		list[i].Header = h
		switch {
		case err != nil:
			list[i].Problem = err.Error()
		case h.Fingerprint != fingerprint:
			list[i].Problem = fmt.Sprintf("written by another projection than app %s's", app.Name)
		}
	}
	return list, nil
}

// CheckpointVerdict is what VerifyCheckpoints found about one checkpoint.
type CheckpointVerdict struct {
	File checkpoint.File
	Rows int64
	// Hash is the hash of the image the checkpoint holds, ReplayHash that of
	// a replay of the log up to its seq: equal for a good checkpoint.
	Hash, ReplayHash [32]byte
	// Base marks the checkpoint a truncated log's replay starts from: it
	// is checked (frame, fingerprint, checksum) but, with the log before it
	// gone, not compared with a replay.
	Base bool
	// Err says why the checkpoint is not good: unreadable, damaged, another
	// projection, ahead of the log or before its start, or not equal to the
	// replay.
	Err error
}

// ErrNotReplay is a checkpoint whose image differs from a replay of the log.
var ErrNotReplay = errors.New("the checkpoint's image differs from a replay of the log up to its seq")

// VerifyCheckpoints checks every checkpoint of a stopped server's data
// directory: frame, fingerprint and checksum, then that the image it holds
// equals a strict replay of the log up to its seq. The log is replayed once,
// from the oldest checkpoint to the newest; a truncated log from its base
// (see CheckpointVerdict.Base). It returns an error only when the
// log cannot be read; what it finds wrong is in the verdicts, oldest first.
func VerifyCheckpoints(dataDir string, app *imago.App) ([]CheckpointVerdict, error) {
	files, err := checkpoint.List(imago.CheckpointDir(dataDir))
	if err != nil {
		return nil, err
	}
	slices.Reverse(files)
	registry, log, err := openStopped(dataDir, app)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	fingerprint := app.Fingerprint()
	elog, err := app.EnvelopeLog(log)
	if err != nil {
		return nil, err
	}
	// The replayed image holds the commands up to at.
	replayed, at, basePath, err := imago.ReplayBase(dataDir, app, log)
	if err != nil {
		return nil, err
	}
	verdicts := make([]CheckpointVerdict, len(files))
	for i, f := range files {
		verdicts[i].File = f
	}
	for i, f := range files {
		v := &verdicts[i]
		switch {
		case f.Seq > log.LastSeq():
			v.Err = fmt.Errorf("it is at seq %d, the log ends at %d", f.Seq, log.LastSeq())
			continue
		case f.Path == basePath:
			v.Base = true
			v.Rows, v.Hash, v.Err = loadedHash(f.Path, app, fingerprint)
			v.ReplayHash = v.Hash
			continue
		case f.Seq < at:
			v.Err = fmt.Errorf("it is at seq %d, before the truncated log's base %s (seq %d): it cannot be compared with a replay, and a restart would not use it", f.Seq, basePath, at)
			continue
		}
		snap, _, err := applier.Replay{Image: replayed, Registry: registry, Log: elog, From: at + 1, To: f.Seq,
			Strict: true, Logger: slog.New(slog.DiscardHandler)}.Run()
		if err != nil {
			err = fmt.Errorf("replay up to seq %d: %w", f.Seq, err)
			return notVerified(verdicts, i, err), err
		}
		at = f.Seq
		if v.ReplayHash, err = snap.Hash(); err != nil {
			return notVerified(verdicts, i, err), err
		}
		v.Rows, v.Hash, v.Err = loadedHash(f.Path, app, fingerprint)
		if v.Err == nil && v.Hash != v.ReplayHash {
			v.Err = ErrNotReplay
		}
	}
	slices.Reverse(verdicts)
	return verdicts, nil
}

// notVerified marks the verdicts from i on, which a failure left
// unchecked, as not verified because of err, and returns them all newest
// first: none of them may read as good.
func notVerified(verdicts []CheckpointVerdict, i int, err error) []CheckpointVerdict {
	for j := i; j < len(verdicts); j++ {
		verdicts[j].Err = fmt.Errorf("not verified: %w", err)
	}
	slices.Reverse(verdicts)
	return verdicts
}

// loadedHash loads the checkpoint at path and returns its rows and hash.
func loadedHash(path string, app *imago.App, fingerprint [32]byte) (int64, [32]byte, error) {
	im, err := app.NewImage()
	if err != nil {
		return 0, [32]byte{}, err
	}
	_, st, err := checkpoint.Load(path, im, fingerprint, nil)
	if err != nil {
		return 0, [32]byte{}, err
	}
	hash, err := im.Snapshot().Hash()
	return st.Rows, hash, err
}

// CreateCheckpoint writes a checkpoint of a stopped server's data directory:
// the image is recovered as Open does (the newest usable checkpoint, then the
// log after it) and written; older files beyond keep are removed as by a
// running server.
func CreateCheckpoint(dataDir string, app *imago.App, keep int, logger *slog.Logger) (imago.CheckpointInfo, error) {
	if err := imago.CheckDataDir(dataDir, app); err != nil {
		return imago.CheckpointInfo{}, err
	}
	if _, err := os.Stat(imago.LogDir(dataDir)); err != nil {
		return imago.CheckpointInfo{}, fmt.Errorf("%s holds no log: %w", dataDir, err)
	}
	db, err := imago.Open(dataDir, app, imago.Options{Logger: logger, CheckpointsKeep: keep})
	if err != nil {
		return imago.CheckpointInfo{}, err
	}
	info, err := db.Checkpoint()
	return info, errors.Join(err, db.Close())
}
