package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
)

// POST /v1/admin/import (admin scope): a JSON array of commands of another
// system's history, each {"name", "time", "payload"} with optionally "id",
// "actor", "cause" and "version" (an old version is upcast), applied with
// their original times, all or nothing (see writer.Writer.Import):
//
//	200 {"imported":N,"first_seq":A,"last_seq":B}
//	400 an item is malformed (its index and field in the message, "item")
//	422 an item is invalid, refused, or its time is out of order ("item")
//
// An import of a long history is a sequence of such requests, in order.

// MaxImportItems bounds the commands of one import request.
const MaxImportItems = 10000

// MaxImportBody bounds an import request's body, whatever Config.MaxBody:
// MaxImportItems commands of a few hundred bytes each.
const MaxImportBody = 32 << 20

// ImportFunc imports a history (*imago.DB's Import).
type ImportFunc func(ctx context.Context, items []commands.Import, importer string) ([]commands.Result, error)

// codeTimeOrder: an imported command's time is out of order.
const codeTimeOrder = "time_out_of_order"

// ImportItem is one command of an import as JSON: a line of `imago log
// import`'s file, an element of POST /v1/admin/import's array.
type ImportItem struct {
	Name string `json:"name"`
	// Version of the payload; 0: the current one. An old one is upcast.
	Version uint32 `json:"version,omitzero"`
	// Time is RFC 3339, at most microseconds.
	Time    string         `json:"time"`
	ID      string         `json:"id,omitzero"`
	Actor   string         `json:"actor,omitzero"`
	Cause   string         `json:"cause,omitzero"`
	Payload jsontext.Value `json:"payload"`
}

// ImportDecoder turns the JSON of imported commands into commands.Import,
// strictly, as the API decodes a command.
type ImportDecoder struct {
	Registry *commands.Registry
	Upcaster envelope.Upcaster // nil: none
}

// DecodeError is why an imported item does not decode: its HTTP status,
// error code and a message naming the field.
type DecodeError struct {
	Status  int
	Code    string
	Message string
}

func (e *DecodeError) Error() string { return e.Message }

// Decode decodes one item (a JSON object).
func (d ImportDecoder) Decode(raw []byte) (commands.Import, error) {
	var it ImportItem
	if err := decodeJSON(bytes.NewReader(raw), jsontext.KindBeginObject, &it); err != nil {
		status, code, msg := describe(err, "")
		if errors.Is(err, errEmpty) {
			msg = "empty: want {\"name\", \"time\", \"payload\", ...}"
		}
		return commands.Import{}, &DecodeError{status, code, msg}
	}
	return d.command(it)
}

func (d ImportDecoder) command(it ImportItem) (commands.Import, error) {
	bad := func(status int, code, format string, args ...any) (commands.Import, error) {
		return commands.Import{}, &DecodeError{status, code, fmt.Sprintf(format, args...)}
	}
	if it.Name == "" {
		return bad(http.StatusBadRequest, codeMalformed, `field "name" is missing: the command's name`)
	}
	if it.Time == "" {
		return bad(http.StatusBadRequest, codeMalformed, `field "time" is missing: when the command was accepted, RFC 3339 (2025-03-01T09:30:00.123456Z)`)
	}
	at, err := time.Parse(time.RFC3339Nano, it.Time)
	if err != nil {
		return bad(http.StatusBadRequest, codeMalformed, `field "time": %q is not an RFC 3339 time (2025-03-01T09:30:00.123456Z)`, it.Time)
	}
	if len(it.Payload) == 0 {
		return bad(http.StatusBadRequest, codeMalformed, `field "payload" is missing: the command's fields as a JSON object`)
	}
	def, ok := d.Registry.Lookup(it.Name)
	var cmd commands.Command
	if it.Version != 0 && (!ok || def.Version != it.Version) {
		var status int
		var code, msg string
		if _, cmd, status, code, msg = decodeOld(d.Registry, d.Upcaster, bytes.NewReader(it.Payload), it.Name, it.Version); status != 0 {
			return bad(status, code, "field \"payload\": %s", msg)
		}
	} else {
		if !ok {
			return bad(http.StatusNotFound, codeUnknownCommand, "no command named %q; GET /v1/commands lists them", it.Name)
		}
		cmd = def.New()
		if status, code, msg := decode(bytes.NewReader(it.Payload), def.Name, cmd); status != 0 {
			return bad(status, code, "field \"payload\": %s", msg)
		}
	}
	return commands.Import{Command: cmd, Time: at, Meta: commands.Meta{ID: it.ID, Actor: it.Actor, Cause: it.Cause}}, nil
}

// importHistory answers POST /v1/admin/import.
func (h *handler) importHistory(imp ImportFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		grant, ok := h.authenticate(w, r)
		if !ok {
			return
		}
		big := *h
		big.maxBody = max(h.maxBody, MaxImportBody)
		body, bodyRead, ok := big.body(w, r)
		if !ok {
			return
		}
		var raw []jsontext.Value
		if err := decodeJSON(body, jsontext.KindBeginArray, &raw); err != nil {
			status, code, msg := describe(err, "")
			if status == http.StatusBadRequest {
				msg = `want a JSON array of {"name", "time", "payload", "id", "actor", "cause"}: ` + msg
			}
			writeError(w, status, code, msg)
			return
		}
		bodyRead()
		if len(raw) == 0 || len(raw) > MaxImportItems {
			writeError(w, http.StatusBadRequest, codeMalformed, fmt.Sprintf("%d commands: an import request holds 1 to %d", len(raw), MaxImportItems))
			return
		}
		dec := ImportDecoder{Registry: h.db.Registry()}
		if u, ok := h.db.(upcasting); ok {
			dec.Upcaster = u.Upcaster()
		}
		items := make([]commands.Import, len(raw))
		for i, b := range raw {
			it, err := dec.Decode(b)
			var de *DecodeError
			if errors.As(err, &de) {
				writeItemError(w, de.Status, de.Code, fmt.Sprintf("item %d: %s", i, de.Message), i)
				return
			}
			items[i] = it
		}
		res, err := imp(r.Context(), items, grant.Actor)
		if err != nil {
			h.importRefused(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"imported": len(res), "first_seq": res[0].Seq, "last_seq": res[len(res)-1].Seq})
	}
}

// importRefused answers an import that applied nothing.
func (h *handler) importRefused(w http.ResponseWriter, err error) {
	var ie *commands.ImportError
	if !errors.As(err, &ie) {
		status, code, msg := classify(err)
		if status == http.StatusInternalServerError {
			h.log.Error("import failed", "err", err)
		}
		writeError(w, status, code, msg)
		return
	}
	status, code, _ := classify(ie.Err)
	var te *commands.TimeError
	if errors.As(ie.Err, &te) {
		status, code = http.StatusUnprocessableEntity, codeTimeOrder
	}
	if status == http.StatusInternalServerError {
		status, code = http.StatusUnprocessableEntity, codeInvalid // an unregistered command type: the app's Go value, not JSON
	}
	writeItemError(w, status, code, ie.Error(), ie.Item)
}

// writeItemError is writeError naming the item of a list it is about.
func writeItemError(w http.ResponseWriter, status int, code, msg string, item int) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "item": item}})
}
