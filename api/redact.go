package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// POST /v1/admin/redact (scope admin) redacts payload fields of chosen log
// entries on a running primary, after proving that replay changes nothing
// else (see package redaction):
//
//	{"seqs":[17], "where":{"field":"customer_id","value":"c-17"},
//	 "fields":["name","email"], "derived":["table.column"], "reason":"..."}
//
// -> 200 with the record (who is the token's actor); 422 with code
// redaction_refused when the proof refuses (nothing written), 400 for a
// bad request. Every response of the API carries the primary's redaction
// epoch in the header RedactionEpochHeader, and raw log heartbeats carry
// it too: a replica holding an older one bootstraps again.

// RedactionEpochHeader carries the primary's redaction epoch (the number
// of redactions of its log) on every response.
const RedactionEpochHeader = "Imago-Redaction-Epoch"

// RedactRequest is the body of POST /v1/admin/redact.
type RedactRequest struct {
	Seqs  []uint64     `json:"seqs,omitempty"`
	Where *RedactWhere `json:"where,omitempty"`
	// Fields are the payload fields replaced by a marker.
	Fields []string `json:"fields"`
	// Derived are columns (table.column) computed from a redacted field
	// that may differ without holding the marker.
	Derived []string `json:"derived,omitempty"`
	Reason  string   `json:"reason"`
}

// RedactWhere chooses every entry whose payload field has the value.
type RedactWhere struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// Redactor redacts the log for actor (Config.Redact). Its error wraps
// ErrRedactionRefused when the proof refused, ErrBadRedaction when the
// request chose nothing or named nothing to redact.
type Redactor func(ctx context.Context, req RedactRequest, actor string) (record any, err error)

// The errors a Redactor wraps.
var (
	ErrRedactionRefused = errors.New("redaction refused")
	ErrBadRedaction     = errors.New("bad redaction")
)

const codeRedactionRefused = "redaction_refused"

// registerRedact adds POST /v1/admin/redact when cfg has a Redactor.
func (h *handler) registerRedact(mux *http.ServeMux, cfg Config) {
	if cfg.Redact == nil {
		return
	}
	mux.HandleFunc("POST /v1/admin/redact", h.requires(ScopeAdmin, func(w http.ResponseWriter, r *http.Request) {
		grant, _ := h.authenticate(w, r) // requires has checked it
		body, bodyRead, ok := h.body(w, r)
		if !ok {
			return
		}
		var req RedactRequest
		if status, code, msg := decode(body, "redact", &req); status != 0 {
			writeError(w, status, code, msg)
			return
		}
		bodyRead()
		if len(req.Fields) == 0 || req.Reason == "" || (len(req.Seqs) == 0 && req.Where == nil) {
			writeError(w, http.StatusBadRequest, codeMalformed, `a redaction needs "fields", "reason", and entries: "seqs" or "where" {"field","value"}`)
			return
		}
		rec, err := cfg.Redact(r.Context(), req, grant.Actor)
		switch {
		case errors.Is(err, ErrRedactionRefused):
			writeError(w, http.StatusUnprocessableEntity, codeRedactionRefused, strings.TrimPrefix(err.Error(), ErrRedactionRefused.Error()+": "))
		case errors.Is(err, ErrBadRedaction):
			writeError(w, http.StatusBadRequest, codeMalformed, strings.TrimPrefix(err.Error(), ErrBadRedaction.Error()+": "))
		case err != nil:
			status, code, msg := classify(err)
			if status == http.StatusInternalServerError {
				h.log.Error("redaction failed", "err", err)
			}
			writeError(w, status, code, msg)
		default:
			writeJSON(w, http.StatusOK, rec)
		}
	}))
}

// withEpoch sets RedactionEpochHeader on every response, read before the
// handler reads any data: a replica that bootstraps records the epoch its
// data is at least as new as.
func withEpoch(epoch func() uint64, next http.Handler) http.Handler {
	if epoch == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The name is canonical already: Set would canonicalize it again
		// on every response.
		w.Header()[RedactionEpochHeader] = []string{strconv.FormatUint(epoch(), 10)}
		next.ServeHTTP(w, r)
	})
}
