package imago

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/wal"
)

// LogDir is where a data directory keeps its command log.
func LogDir(dataDir string) string { return filepath.Join(dataDir, "log") }

// OpenLog opens the command log of a stopped server's data directory for
// reading; nothing in the directory changes. While a server has it open the
// error matches wal.ErrLocked.
func OpenLog(dataDir string) (*wal.Log, error) {
	return wal.Open(LogDir(dataDir), wal.Options{ReadOnly: true})
}

// LogReport is what CheckLog found.
type LogReport struct {
	FirstSeq    uint64       // the log's first seq: 1 unless it was truncated
	LastSeq     uint64       // the log's last seq
	Readable    uint64       // entries read
	Damage      []wal.Damage // runs of entries that could not be read
	Undecodable []error      // entries read whose envelope does not decode (each names its seq)
	// Base is the checkpoint a truncated log's replay started from (its
	// seq and file; 0 and "" for a whole log, replayed from seq 1).
	Base     uint64
	BaseFile string
	// ReplayErr is why a strict replay failed (it names the seq); else
	// Replayed commands were applied and Hash is the resulting image's
	// (memdb.Snapshot.Hash).
	ReplayErr error
	Replayed  uint64
	Hash      [32]byte
}

// OK tells whether every entry was read and decoded and the whole log
// replayed.
func (r *LogReport) OK() bool {
	return len(r.Damage) == 0 && len(r.Undecodable) == 0 && r.ReplayErr == nil && r.Base+r.Replayed == r.LastSeq
}

// openStopped opens the log of a stopped server's data directory read-only,
// with the registry of app's commands to replay it.
func openStopped(dataDir string, app *App) (*commands.Registry, *wal.Log, error) {
	registry, err := commands.NewRegistry(app.Commands...)
	if err != nil {
		return nil, nil, fmt.Errorf("imago: app %s: %w", app.Name, err)
	}
	log, err := OpenLog(dataDir)
	return registry, log, err
}

// CheckLog verifies a stopped server's command log for app: every entry is
// read (damaged blocks are stepped over and reported as runs of seqs), every
// envelope decodes, and a strict replay from seq 1 (a truncated log: from the
// oldest checkpoint at or after its start) applies every command; the hash of
// the replayed image is reported. It returns an error only when the
// log cannot be opened; what it finds wrong is in the report.
func CheckLog(dataDir string, app *App) (*LogReport, error) {
	registry, log, err := openStopped(dataDir, app)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	r := &LogReport{FirstSeq: log.FirstSeq(), LastSeq: log.LastSeq()}
	r.Damage, err = log.Check(func(e wal.Entry) error {
		r.Readable++
		if _, err := commands.DecodeEnvelope(e.Seq, e.Data); err != nil {
			r.Undecodable = append(r.Undecodable, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("imago: check %s: %w", LogDir(dataDir), err)
	}
	image, base, baseFile, err := replayBase(dataDir, app, app.Fingerprint(), log)
	if err != nil {
		r.ReplayErr = err
		return r, nil
	}
	r.Base, r.BaseFile = base, baseFile
	snap, stats, err := commands.Replay(commands.Config{Image: image, StartSeq: base, Log: log, Registry: registry,
		Strict: true, Logger: slog.New(slog.DiscardHandler)}, r.LastSeq)
	if err != nil {
		r.ReplayErr = err
		return r, nil
	}
	r.Replayed = stats.Commands
	r.Hash, err = snap.Hash()
	return r, err
}
