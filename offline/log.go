// Package offline holds the tools that work on a stopped server's data
// directory: the log's statistics, dump and verification, its redaction,
// replay digests and their diff, and the checkpoints' listing,
// verification and creation. They open the log
// read-only (only CreateCheckpoint writes, as a server would), and refuse a
// directory that belongs to another app.
//
// Guarantees:
//   - Nothing in the directory changes, except the checkpoint
//     CreateCheckpoint writes (and the older files it prunes), and what
//     Redact rewrites (the redacted entries, checkpoints removed, its
//     record), once it proved that replay refuses no command it applied.
//   - A verdict of "good" is given only for what was verified: a
//     checkpoint is good only if it loaded and its image equals a strict
//     replay of the log up to its seq.
//   - While a server has the directory open, the tools refuse with an
//     error matching wal.ErrLocked.
package offline

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/wal"
)

// OpenLog opens the command log of a stopped server's data directory,
// which must belong to app, for reading; nothing in the directory changes.
// While a server has it open the error matches wal.ErrLocked.
func OpenLog(dataDir string, app *imago.App) (*wal.Log, error) {
	if err := imago.CheckDataDir(dataDir, app); err != nil {
		return nil, err
	}
	if _, err := os.Stat(imago.LogDir(dataDir)); err != nil {
		return nil, fmt.Errorf("%s holds no command log: %w", dataDir, err)
	}
	return wal.Open(imago.LogDir(dataDir), wal.Options{ReadOnly: true})
}

// Stats summarises the log of a stopped server's data directory.
func Stats(dataDir string, app *imago.App) (envelope.Stats, error) {
	log, err := OpenLog(dataDir, app)
	if err != nil {
		return envelope.Stats{}, err
	}
	defer log.Close()
	return envelope.NewLog(log).Stats(log.LastSeq(), log.DiskBytes())
}

// Dump calls fn with each envelope of from <= seq <= to (0: the log's end)
// of a stopped server's log, in order, as stored; names, if not empty,
// selects the commands by name.
func Dump(dataDir string, app *imago.App, from, to uint64, names []string, fn func(envelope.Envelope) error) error {
	return DumpUpcast(dataDir, app, from, to, names, false, fn)
}

// DumpUpcast is Dump, each envelope upcast by the app's upcasters if
// upcast (its Stored is then the stored form, if they changed it; retired
// entries come with Retired set). names selects by either name.
func DumpUpcast(dataDir string, app *imago.App, from, to uint64, names []string, upcast bool, fn func(envelope.Envelope) error) error {
	log, err := OpenLog(dataDir, app)
	if err != nil {
		return err
	}
	defer log.Close()
	if to == 0 {
		to = log.LastSeq()
	}
	return dump(log, app, upcast, from, to, names, fn)
}

// Tail is Dump of the last n entries (names then filters them).
func Tail(dataDir string, app *imago.App, n uint64, names []string, fn func(envelope.Envelope) error) error {
	return TailUpcast(dataDir, app, n, names, false, fn)
}

// TailUpcast is Tail, upcast as DumpUpcast does if upcast.
func TailUpcast(dataDir string, app *imago.App, n uint64, names []string, upcast bool, fn func(envelope.Envelope) error) error {
	log, err := OpenLog(dataDir, app)
	if err != nil {
		return err
	}
	defer log.Close()
	last := log.LastSeq()
	return dump(log, app, upcast, last-min(last, n)+1, last, names, fn)
}

func dump(log *wal.Log, app *imago.App, upcast bool, from, to uint64, names []string, fn func(envelope.Envelope) error) error {
	elog := envelope.NewLog(log)
	if upcast {
		var err error
		if elog, err = app.EnvelopeLog(log); err != nil {
			return err
		}
	}
	return elog.ReadAll(max(from, log.FirstSeq()), to, func(env envelope.Envelope) error {
		if len(names) > 0 && !slices.Contains(names, env.Name) && (env.Stored == nil || !slices.Contains(names, env.Stored.Name)) {
			return nil
		}
		return fn(env)
	})
}

// AcceptLoss is the explicit repair of a log that lost entries once
// synced (imago.LostEntriesError): it records the repair and lowers the
// log's high-water mark to its last seq (wal.AcceptLoss), and moves every
// checkpoint past that seq, or of another history than the log's, into
// checkpoints/set-aside-<time>/, so that no image of the lost history is
// ever loaded under the commands logged from now on. It returns the
// repair and the files set aside.
func AcceptLoss(dataDir string, app *imago.App) (wal.Repair, []string, error) {
	if err := imago.CheckDataDir(dataDir, app); err != nil {
		return wal.Repair{}, nil, err
	}
	repair, err := wal.AcceptLoss(imago.LogDir(dataDir), wal.Options{})
	if err != nil {
		return wal.Repair{}, nil, err
	}
	log, err := OpenLog(dataDir, app)
	if err != nil {
		return repair, nil, err
	}
	defer log.Close()
	moved, err := imago.SetAsideCheckpoints(dataDir, log, repair.Time)
	return repair, moved, err
}

// LogReport is what CheckLog found.
type LogReport struct {
	FirstSeq uint64       // the log's first seq: 1 unless it was truncated
	LastSeq  uint64       // the log's last seq
	Readable uint64       // entries read
	Damage   []wal.Damage // runs of entries that could not be read
	// WALDamage is a damaged WAL file: the log is read up to it, and what
	// it held after the damage is lost (nil: none).
	WALDamage *wal.WALDamageError
	// Tables are the damaged tables of the log, with the seqs they hold.
	Tables []wal.TableDamage
	// Lost is a log that ends before its high-water mark (nil: whole as far
	// as the mark knows); MarkErr a mark that cannot be read.
	Lost        *wal.LostEntriesError
	MarkErr     error
	Undecodable []error // entries read whose envelope does not decode (each names its seq)
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
	return len(r.Damage) == 0 && len(r.Undecodable) == 0 && r.ReplayErr == nil && r.Base+r.Replayed == r.LastSeq &&
		r.WALDamage == nil && len(r.Tables) == 0 && r.Lost == nil && r.MarkErr == nil
}

// openStopped opens the log of a stopped server's data directory read-only,
// with the registry of app's commands to replay it.
func openStopped(dataDir string, app *imago.App) (*commands.Registry, *wal.Log, error) {
	registry, err := commands.NewRegistry(app.Commands...)
	if err != nil {
		return nil, nil, fmt.Errorf("app %s: %w", app.Name, err)
	}
	log, err := OpenLog(dataDir, app)
	return registry, log, err
}

// CheckLog verifies a stopped server's command log for app: every entry is
// read (damaged blocks are stepped over and reported as runs of seqs), every
// envelope decodes, and a strict replay from seq 1 (a truncated log: from the
// oldest checkpoint at or after its start) applies every command; the hash of
// the replayed image is reported. It returns an error only when the
// log cannot be opened; what it finds wrong is in the report.
func CheckLog(dataDir string, app *imago.App) (*LogReport, error) {
	registry, log, err := openStopped(dataDir, app)
	if errors.As(err, new(*wal.WALDamageError)) {
		// Read what is readable: the damaged file up to the damage.
		log, err = wal.Open(imago.LogDir(dataDir), wal.Options{ReadOnly: true, InspectDamage: true})
	}
	if err != nil {
		return nil, err
	}
	defer log.Close()
	r := &LogReport{FirstSeq: log.FirstSeq(), LastSeq: log.LastSeq(), WALDamage: log.WALDamage(), Lost: log.Lost(), MarkErr: log.MarkErr()}
	if r.Tables, err = log.CheckTables(); err != nil {
		return nil, fmt.Errorf("check %s: %w", imago.LogDir(dataDir), err)
	}
	r.Damage, err = log.Check(func(e wal.Entry) error {
		r.Readable++
		if _, err := envelope.Decode(e.Seq, e.Data); err != nil {
			r.Undecodable = append(r.Undecodable, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", imago.LogDir(dataDir), err)
	}
	image, base, baseFile, err := imago.ReplayBase(dataDir, app, log)
	if err != nil {
		r.ReplayErr = err
		return r, nil
	}
	r.Base, r.BaseFile = base, baseFile
	elog, err := app.EnvelopeLog(log)
	if err != nil {
		return nil, err
	}
	snap, stats, err := applier.Replay{Image: image, Registry: registry, Log: elog, From: base + 1, To: r.LastSeq,
		Strict: true, Logger: slog.New(slog.DiscardHandler)}.Run()
	if err != nil {
		r.ReplayErr = err
		return r, nil
	}
	r.Replayed = stats.Commands + stats.Retired
	r.Hash, err = snap.Hash()
	return r, err
}
