package server

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/envelope"
	imagosql "github.com/imagodb/imago/sql"
)

// envelopeLog is imago.commands' log: the current database's.
type envelopeLog struct{ db func() *imago.DB }

func (l envelopeLog) Iter(from, to uint64) *envelope.Iterator {
	return l.db().Envelopes().Iter(from, to)
}
func (l envelopeLog) FirstSeq() uint64 { return l.db().Envelopes().FirstSeq() }
func (l envelopeLog) LastAt(t time.Time, to uint64) (uint64, error) {
	return l.db().Envelopes().LastAt(t, to)
}

// checkpoints lists the checkpoints replicas may bootstrap from (GET
// /v1/checkpoints): sound frames, newest first.
func (s *Server) checkpoints() ([]api.CheckpointFile, error) {
	files, err := checkpoint.List(imago.CheckpointDir(s.cfg.Data))
	if err != nil {
		return nil, err
	}
	var out []api.CheckpointFile
	for _, f := range files {
		h, err := checkpoint.Inspect(f.Path)
		if err != nil {
			continue
		}
		sum, err := checkpoint.Checksum(f.Path)
		if err != nil {
			continue
		}
		c := api.CheckpointFile{Seq: f.Seq, Size: f.Size, Checksum: fmt.Sprintf("%08x", sum),
			Fingerprint: fmt.Sprintf("%x", h.Fingerprint), CreatedAt: h.CreatedAt, Path: f.Path}
		if h.ImageHash != ([32]byte{}) {
			c.ImageHash = hex.EncodeToString(h.ImageHash[:])
		}
		out = append(out, c)
	}
	return out, nil
}

// imageAt is the image hash at the last checkpoint this process wrote,
// for its replicas to compare with theirs; before it wrote one (after a
// restart), the hash its newest checkpoint file of this projection records.
func (s *Server) imageAt() *api.ImageAt {
	db := s.DB()
	fp := db.App().Fingerprint()
	if c := db.LastCheckpoint(); c != nil {
		return &api.ImageAt{Seq: c.Seq, Hash: hex.EncodeToString(c.ImageHash[:]), Fingerprint: hex.EncodeToString(fp[:])}
	}
	files, err := s.checkpoints()
	if err != nil {
		return nil
	}
	for _, f := range files { // newest first
		if f.Fingerprint == hex.EncodeToString(fp[:]) && f.ImageHash != "" {
			return &api.ImageAt{Seq: f.Seq, Hash: f.ImageHash, Fingerprint: f.Fingerprint}
		}
	}
	return nil
}

// ready is /readyz beyond accepting writes: a replica is ready while it is
// no further behind its primary than MaxLag.
func (s *Server) ready() error {
	if s.replica == nil {
		return nil
	}
	if d := s.replica.Status().Diverged; d != nil {
		return d
	}
	if s.cfg.MaxLag <= 0 {
		return nil
	}
	if n, behind := s.replica.Lag(); behind > s.cfg.MaxLag {
		return fmt.Errorf("the replica is %d commands and %v behind its primary (--max-lag %v)", n, behind.Round(time.Millisecond), s.cfg.MaxLag)
	}
	return nil
}

// replicaSlots are the rows of imago.replicas: the replicas following
// this process's log.
func (s *Server) replicaSlots() []imagosql.ReplicaStatus {
	db := s.DB()
	durable := db.DurableSeq()
	var rows []imagosql.ReplicaStatus
	for _, r := range db.ReplicaSlots() {
		rows = append(rows, imagosql.ReplicaStatus{Name: r.Name, Address: r.Address, SentSeq: r.Seq, AckedSeq: r.Acked,
			Lag: durable - min(r.Acked, durable), LagTime: unappliedAge(db, r.Acked, durable),
			Connected: r.Connected, ConnectedSince: r.ConnectedSince, LastSeen: r.LastSeen})
	}
	return rows
}

// unappliedAge is how long ago the oldest durable entry after acked was
// accepted (its envelope's time): how stale the replica's image is. 0
// when it applied everything durable. An entry truncated away counts
// from the log's first.
func unappliedAge(db *imago.DB, acked, durable uint64) time.Duration {
	if acked >= durable {
		return 0
	}
	seq := max(acked+1, db.Envelopes().FirstSeq())
	var accepted time.Time
	err := db.Envelopes().Stored().Read(seq, seq, func(env envelope.Envelope) error {
		accepted = env.Time
		return nil
	})
	if err != nil || accepted.IsZero() {
		return 0
	}
	return max(time.Since(accepted), 0)
}

// replicaRows are imago.status's rows of a replica.
func (s *Server) replicaRows() []imagosql.StatusRow {
	if s.replica == nil {
		return nil
	}
	st := s.replica.Status()
	n, behind := s.replica.Lag()
	contact := ""
	if !st.Contact.IsZero() {
		contact = st.Contact.UTC().Format(time.RFC3339Nano)
	}
	return []imagosql.StatusRow{
		{Name: "primary", Value: st.Primary},
		{Name: "replica_state", Value: st.State},
		{Name: "applied_seq", Value: strconv.FormatUint(s.DB().View().Seq, 10)},
		{Name: "primary_durable_seq", Value: strconv.FormatUint(st.PrimarySeq, 10)},
		{Name: "lag_commands", Value: strconv.FormatUint(n, 10)},
		{Name: "lag_ms", Value: strconv.FormatInt(behind.Milliseconds(), 10)},
		{Name: "last_contact", Value: contact},
		{Name: "last_error", Value: st.LastError},
		{Name: "verified_seq", Value: strconv.FormatUint(st.Verified, 10)},
	}
}
