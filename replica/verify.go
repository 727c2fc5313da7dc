package replica

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/checkpoint"
)

// errDiverged is a replica whose image differs from its primary's at the
// same seq: a nondeterministic Apply, or different code. It stops applying.
var errDiverged = errors.New("the replica's image differs from its primary's")

// Divergence is where a replica found its image different from the
// primary's: somewhere in After+1..At.
type Divergence struct {
	After, At     uint64
	Primary, Mine string // the image hashes at At
}

func (d *Divergence) Error() string {
	return fmt.Sprintf("%v at seq %d (primary %s, replica %s); it was equal at seq %d, so a command of seqs %d..%d applied differently here",
		errDiverged, d.At, d.Primary, d.Mine, d.After, d.After+1, d.At)
}

func (d *Divergence) Unwrap() error { return errDiverged }

// expect notes the primary's image hash at a seq, to compare with the
// replica's own there; only of the replica's own projection (another app's
// image differs by design), and each seq once. A seq the replica has yet
// to reach is compared when it gets there (its batches are cut there); one
// it already passed is compared in the background, against its image at
// that seq rebuilt from its own checkpoint and log (see rebuiltHash).
func (r *Replica) expect(img *imageAt, db *imago.DB) {
	fp := r.cfg.App.Fingerprint()
	if img == nil || img.Fingerprint != hex.EncodeToString(fp[:]) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if img.Seq <= r.st.Verified || (r.check != nil && r.check.Seq == img.Seq) || r.st.Diverged != nil {
		return
	}
	if img.Seq > db.View().Seq {
		r.check = img
		return
	}
	if r.checking {
		return
	}
	r.checking = true
	r.checks.Add(1)
	go func() {
		defer r.checks.Done()
		defer func() { r.mu.Lock(); r.checking = false; r.mu.Unlock() }()
		h, err := rebuiltHash(db, r.cfg.App, img.Seq)
		if err != nil {
			r.cfg.Logger.Warn("replica cannot rebuild its image to compare it with the primary's", "seq", img.Seq, "err", err)
			return
		}
		r.verdict(img, h)
	}()
}

// checkAt is the seq whose image is to be compared (0: none).
func (r *Replica) checkAt() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.check == nil {
		return 0
	}
	return r.check.Seq
}

// compare hashes the replica's image, which is at the expected seq, and
// compares it with the primary's.
func (r *Replica) compare(db *imago.DB) error {
	r.mu.Lock()
	want := r.check
	r.check = nil
	r.mu.Unlock()
	view := db.View()
	if want == nil || view.Seq != want.Seq {
		return nil
	}
	h, err := view.Snapshot.Hash()
	if err != nil {
		return err
	}
	if d := r.verdict(want, h); d != nil {
		return d
	}
	return nil
}

// verdict records the comparison of the replica's image hash h at the
// primary's seq with the primary's; a divergence stops the follower.
func (r *Replica) verdict(want *imageAt, h [32]byte) *Divergence {
	mine := hex.EncodeToString(h[:])
	r.mu.Lock()
	defer r.mu.Unlock()
	if mine != want.Hash {
		r.st.Diverged = &Divergence{After: r.st.Verified, At: want.Seq, Primary: want.Hash, Mine: mine}
		r.st.State = "diverged"
		r.st.LastError = r.st.Diverged.Error()
		if r.stopFollow != nil {
			r.stopFollow()
		}
		return r.st.Diverged
	}
	r.st.Verified = max(r.st.Verified, want.Seq)
	return nil
}

// rebuiltHash is the hash of db's image at seq: its newest checkpoint at or
// before seq, then its log up to seq replayed into a private image.
func rebuiltHash(db *imago.DB, app *imago.App, seq uint64) ([32]byte, error) {
	image, err := app.NewImage()
	if err != nil {
		return [32]byte{}, err
	}
	log := db.Log()
	base := uint64(0)
	files, err := checkpoint.List(imago.CheckpointDir(db.Dir()))
	if err != nil {
		return [32]byte{}, err
	}
	for _, f := range files { // newest first
		if f.Seq <= seq && f.Seq+1 >= log.FirstSeq() {
			if _, _, err := checkpoint.Load(f.Path, image, app.Fingerprint(), nil); err != nil {
				return [32]byte{}, err
			}
			base = f.Seq
			break
		}
	}
	if base == 0 && log.FirstSeq() > 1 {
		return [32]byte{}, fmt.Errorf("no checkpoint of this replica at or before seq %d, and its log begins at %d", seq, log.FirstSeq())
	}
	snap, _, err := applier.Replay{Image: image, Registry: db.Registry(), Log: db.Envelopes(), From: base + 1, To: seq,
		Logger: slog.New(slog.DiscardHandler)}.Run()
	if err != nil {
		return [32]byte{}, err
	}
	return snap.Hash()
}
