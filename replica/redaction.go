package replica

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imagodb/imago"
)

// Redactions: a primary that redacts its log (imago.DB.Redact) counts them
// in its redaction epoch, sent on every API response (header
// Imago-Redaction-Epoch) and in every heartbeat. A replica keeps the epoch
// its data is at least as new as (epochFile, written when it bootstraps,
// from a header read before any data). A heartbeat with a newer epoch
// means the replica's log and checkpoints hold values the primary removed:
// it removes its data directory's log, checkpoints and whatever it set
// aside before (they hold the values too), and bootstraps again. It
// applies no rewrite of its own: the primary's checkpoint and log are the
// redacted ones.

// epochFile holds, in a replica's data directory, the primary's redaction
// epoch its data was copied at.
const epochFile = "replica.redaction-epoch"

// errRedacted is a primary whose log was redacted after this replica's
// copy was made.
var errRedacted = errors.New("the primary redacted its log since this replica copied it")

// epochHeader is api.RedactionEpochHeader.
const epochHeader = "Imago-Redaction-Epoch"

// bootstrapAtEpoch bootstraps a new data directory and records the
// primary's redaction epoch, read before the data.
func (r *Replica) bootstrapAtEpoch(ctx context.Context) error {
	epoch, err := r.primaryEpoch(ctx)
	if err != nil {
		return err
	}
	if err := r.bootstrap(ctx); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.cfg.Data, epochFile), []byte(strconv.FormatUint(epoch, 10)+"\n"), 0o644)
}

// primaryEpoch asks the primary for its redaction epoch (0: it sends none).
func (r *Replica) primaryEpoch(ctx context.Context) (uint64, error) {
	resp, err := r.get(ctx, "/v1/checkpoints", nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	v := resp.Header.Get(epochHeader)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the primary's %s %q: %w", epochHeader, v, err)
	}
	return n, nil
}

// checkEpoch refuses (errRedacted) a primary epoch newer than the data's.
func (r *Replica) checkEpoch(primary uint64) error {
	if primary == 0 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(r.cfg.Data, epochFile))
	mine := uint64(0) // none recorded: a copy made before redactions were told
	if err == nil {
		mine, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	if primary > mine {
		return fmt.Errorf("%w (epoch %d, the copy's %d)", errRedacted, primary, mine)
	}
	return nil
}

// rebootstrapRedacted removes the replica's data (its log, checkpoints and
// everything set aside before) and bootstraps again from the redacted
// primary.
func (r *Replica) rebootstrapRedacted(ctx context.Context) error {
	r.cfg.Logger.Warn("the primary redacted its log: this replica removes its copy and bootstraps again", "data", r.cfg.Data)
	if err := r.Close(); err != nil {
		return err
	}
	log := imago.LogDir(r.cfg.Data)
	paths := []string{log, log + ".mark", log + ".repairs", log + ".versions", imago.CheckpointDir(r.cfg.Data), filepath.Join(r.cfg.Data, epochFile)}
	aside, err := filepath.Glob(filepath.Join(r.cfg.Data, "set-aside-*"))
	if err != nil {
		return err
	}
	for _, p := range append(paths, aside...) {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return r.reopen(ctx)
}
