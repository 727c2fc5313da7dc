package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/imagodb/imago/commands"
)

// MaxBatchItems bounds the commands of one POST /v1/commands.
const MaxBatchItems = 1000

// batchItem is one command of POST /v1/commands.
type batchItem struct {
	Name           string         `json:"name"`
	Body           jsontext.Value `json:"body"`
	IdempotencyKey *string        `json:"idempotency_key"`
}

// batchResult is one item's answer: seq and result, or an error.
type batchResult struct {
	Seq      uint64     `json:"seq,omitempty"`
	Result   any        `json:"result,omitempty"`
	Replayed bool       `json:"idempotent_replayed,omitempty"`
	Error    *errorInfo `json:"error,omitempty"`
}

type errorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// submitBatch answers POST /v1/commands: a JSON array of commands, applied
// in order, each with its own result (a refused one does not stop the
// others), logged together with one fsync. A request that is malformed
// anywhere (JSON, an unknown command or field, a bad key, a command the
// token does not allow) is refused whole, naming the item, and applies
// nothing.
func (h *handler) submitBatch(w http.ResponseWriter, r *http.Request) {
	grant, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	var items []batchItem
	body, bodyRead, ok := h.body(w, r)
	if !ok {
		return
	}
	if err := decodeJSON(body, jsontext.KindBeginArray, &items); err != nil {
		status, code, msg := describe(err, "")
		switch {
		case errors.Is(err, errEmpty):
			msg = "empty body"
		case errors.Is(err, errTrailing):
			msg = "malformed JSON: data after the array"
		}
		if status == http.StatusBadRequest {
			msg = `want a JSON array of {"name", "body", "idempotency_key"}: ` + msg
		}
		writeError(w, status, code, msg)
		return
	}
	bodyRead()
	if len(items) == 0 || len(items) > MaxBatchItems {
		writeError(w, http.StatusBadRequest, codeMalformed, fmt.Sprintf("%d commands: a batch holds 1 to %d", len(items), MaxBatchItems))
		return
	}
	cmds := make([]commands.Command, len(items))
	metas := make([]commands.Meta, len(items))
	for i, it := range items {
		status, code, msg := h.batchCommand(grant, it, &cmds[i], &metas[i])
		if status != 0 {
			writeError(w, status, code, fmt.Sprintf("item %d (%s): %s", i, it.Name, msg))
			return
		}
	}
	outcomes := h.db.SubmitAll(r.Context(), cmds, metas)
	results := make([]batchResult, len(outcomes))
	for i, o := range outcomes {
		if o.Err != nil {
			status, code, msg := classify(o.Err)
			if status == http.StatusInternalServerError {
				h.log.Error("submit failed", "command", items[i].Name, "err", o.Err)
			}
			results[i].Error = &errorInfo{Code: code, Message: msg}
			continue
		}
		results[i] = batchResult{Seq: o.Seq, Result: o.Value, Replayed: o.Replayed}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// batchCommand decodes one item into a command and its meta, or returns
// the status, code and message of what is wrong with it.
func (h *handler) batchCommand(grant Grant, it batchItem, cmd *commands.Command, meta *commands.Meta) (int, string, string) {
	def, ok := h.db.Registry().Lookup(it.Name)
	if !ok {
		return http.StatusNotFound, codeUnknownCommand, fmt.Sprintf("no command named %q; GET /v1/commands lists them", it.Name)
	}
	if !grant.allows(def.Name) {
		return http.StatusForbidden, codeForbidden, forbidden(grant, def.Name)
	}
	*cmd = def.New()
	if status, code, msg := decode(bytes.NewReader(it.Body), def.Name, *cmd); status != 0 {
		return status, code, msg
	}
	*meta = commands.Meta{Actor: grant.Actor}
	if it.IdempotencyKey != nil {
		if err := commands.CheckKey(*it.IdempotencyKey); err != nil {
			return http.StatusBadRequest, codeMalformed, "idempotency_key: " + err.Error()
		}
		meta.ID = *it.IdempotencyKey
	}
	return 0, "", ""
}
