package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/redaction"
	imagosql "github.com/imagodb/imago/sql"
)

// redact is a primary's POST /v1/admin/redact: the token's actor redacts
// (imago.DB.Redact), the proof's refusal is a 422, a bad selection a 400.
func (s *Server) redact(ctx context.Context, req api.RedactRequest, actor string) (any, error) {
	r := imago.Redaction{Selection: redaction.Selection{Seqs: req.Seqs, Fields: req.Fields, Derived: req.Derived}, Actor: actor, Reason: req.Reason}
	if req.Where != nil {
		r.WhereField, r.WhereValue = req.Where.Field, req.Where.Value
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", api.ErrBadRedaction, err)
	}
	rec, err := s.DB().Redact(ctx, r)
	var refused *redaction.RefusedError
	switch {
	case errors.As(err, &refused):
		return nil, fmt.Errorf("%w: %w", api.ErrRedactionRefused, err)
	case errors.Is(err, imago.ErrBadRedaction):
		return nil, fmt.Errorf("%w: %w", api.ErrBadRedaction, err)
	}
	return rec, err
}

// redactionRows are imago.redactions' rows.
func (s *Server) redactionRows() ([]imagosql.RedactionRow, error) {
	recs, err := s.DB().Redactions()
	rows := make([]imagosql.RedactionRow, len(recs))
	for i, r := range recs {
		rows[i] = imagosql.RedactionRow{Epoch: r.Epoch, Time: r.Time, Actor: r.Actor, Reason: r.Reason, Fields: r.Fields, Where: r.Where,
			Seqs: r.Seqs, Derived: r.Derived, Checkpoints: append(append([]string{}, r.Rewritten...), r.Removed...)}
	}
	return rows, err
}
