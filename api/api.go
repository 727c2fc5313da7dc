// Package api is the HTTP interface of Imago: the write API that accepts
// commands, the command catalogue with a JSON Schema per command, and the
// health endpoints.
//
//	POST /v1/commands/{name}   JSON body -> 200 {"seq":N,"result":...}
//	POST /v1/commands/{name}?dry_run=true   -> 200 {"dry_run":true,"seq","result","changes":[{"table","key","before","after"}]}, nothing changed
//	POST /v1/commands          [{"name","body","idempotency_key"}, ...] -> 200 {"results":[...]}
//	GET  /v1/commands          {"commands":[{"name","version","schema"}]}
//	GET  /v1/log               envelopes as JSON lines, up to the durable seq (?from=&to=&name=&follow=)
//	GET  /v1/log/stats         entries, seqs, times, bytes, commands by name
//	POST /v1/admin/checkpoint  write a checkpoint now: {"seq","file","rows","bytes","ms"}
//	POST /v1/admin/import      a history with its original times, all or nothing (import.go)
//	POST /v1/admin/redact      redact payload fields of chosen entries, proven first (redact.go)
//	GET  /healthz              the process is up
//	GET  /readyz               the database accepts writes
//
// Every error is {"error":{"code":"...","message":"..."}}: 400 malformed
// body, 403 a foreign origin or a scope the token lacks, 404 unknown
// command, 408 the body came too slowly, 409 an idempotency key reused with
// another body, 413 body too large, 415 a POST body that is not JSON, 421 a
// Host that is not this server, 422 the command is invalid or was refused,
// 503 not accepting writes. A request that fails changes nothing and logs
// nothing.
//
// With Config.Tokens every /v1 request needs Authorization: Bearer <token>
// (401 without a known one, 403 for a command or endpoint the token does
// not allow); the token's actor goes into the envelope. Reading the log and
// the admin endpoints need the token's scopes (see LoadTokens).
//
// A command sent with an Idempotency-Key header is applied once: a retry
// with the same key and body within the window gets the original seq and
// result, with the header Idempotent-Replayed: true.
//
// Guarantees:
//   - A request that fails changes nothing and logs nothing; only a 200
//     reaches the log.
//   - A command's JSON means one thing: one object of known, case-exact
//     field names, each once, of its declared type, in valid UTF-8;
//     anything else is a 400 naming the field (see decodeJSON).
//   - A web page the local user visits cannot use the API through the
//     browser: POST bodies must be application/json, foreign origins are
//     refused unless allowed, and without tokens so is a Host that does not
//     name this server (see guard).
//   - A token reads the log, or uses admin endpoints, only with that scope.
//   - A body is read within Config.BodyTimeout: a slow client cannot hold
//     a handler open.
//   - Server (serve.go) answers command submissions in its own HTTP/1.1
//     loop only when it understands the whole request header; any other
//     request, and the rest of its connection, is net/http's, from its
//     first byte.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// DefaultMaxBody is the default limit of a command's JSON body: 1 MiB.
const DefaultMaxBody = 1 << 20

// Backend is what the API needs of a database; *imago.DB implements it.
type Backend interface {
	Registry() *commands.Registry
	SubmitMeta(ctx context.Context, cmd commands.Command, meta commands.Meta) (commands.Result, error)
	SubmitAll(ctx context.Context, cmds []commands.Command, metas []commands.Meta) []commands.Outcome
	DryRun(cmd commands.Command, meta commands.Meta) (commands.Result, []memdb.Change, error)
	View() *commands.View
	DurableSeq() uint64
	// Envelopes reads the command log (GET /v1/log).
	Envelopes() *envelope.Log
	// LogValues reads the log's values as stored (GET /v1/log?format=raw).
	LogValues() envelope.Values
	// LogStats summarises the durable log (GET /v1/log/stats).
	LogStats() (envelope.Stats, error)
	Err() error
}

// Config configures the handler.
type Config struct {
	// MaxBody limits a command body in bytes; 0 means DefaultMaxBody.
	MaxBody int64
	// BodyTimeout is how long a request's body may take to arrive, from
	// when its handler starts reading it; 0 means DefaultBodyTimeout, a
	// negative value no limit. A slower body is answered 408.
	BodyTimeout time.Duration
	Logger      *slog.Logger
	// Metrics serves GET /metrics; nil: no metrics endpoint.
	Metrics http.Handler
	// Shutdown is closed when the server shuts down: streams that would
	// otherwise stay open (GET /v1/log?follow=true) end then.
	Shutdown <-chan struct{}
	// Checkpoint writes a checkpoint (POST /v1/admin/checkpoint); nil: no
	// such endpoint.
	Checkpoint func() (CheckpointResult, error)
	// Import imports a history (POST /v1/admin/import); nil: no such endpoint.
	Import ImportFunc
	// Checkpoints lists the checkpoints replicas may bootstrap from, newest
	// first (GET /v1/checkpoints and /v1/checkpoints/{seq}); nil: none.
	Checkpoints func() ([]CheckpointFile, error)
	// Ready, if set, is asked by GET /readyz besides whether writes are
	// accepted (a replica: whether it is caught up).
	Ready func() error
	// ImageAt, if set, is the primary's image hash at its last checkpoint
	// (nil: none yet), sent in heartbeats for replicas to compare.
	ImageAt func() *ImageAt
	// Replicas, if set, is told how far each replica (a raw log stream
	// with an Imago-Replica header) was sent the log: the primary's slots.
	Replicas ReplicaTracker
	// Tokens, if set, authenticate every /v1 request (see LoadTokens);
	// nil: everyone is the anonymous actor.
	Tokens *Tokens
	// AllowedHosts are host names (no port) that requests may be addressed
	// to when there are no Tokens, besides localhost, loopback addresses and
	// the address the request came in on: the host of a --http-addr given
	// by name. Any other Host is refused (421) against DNS rebinding.
	AllowedHosts []string
	// Redact redacts the log (POST /v1/admin/redact, see redact.go); nil:
	// no such endpoint.
	Redact Redactor
	// RedactionEpoch, if set, is the primary's redaction epoch, sent on
	// every response and in heartbeats.
	RedactionEpoch func() uint64
	// AllowedOrigins are the origins (scheme://host[:port]) whose web pages
	// may call the API from a browser, with CORS; nil: none, and a request
	// with any other Origin than the server's own is refused (403).
	AllowedOrigins []string
}

// CheckpointResult is the answer of POST /v1/admin/checkpoint.
type CheckpointResult struct {
	Seq   uint64 `json:"seq"`
	File  string `json:"file"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
	Ms    int64  `json:"ms"`
}

type handler struct {
	db          Backend
	maxBody     int64
	log         *slog.Logger
	catalog     []byte // GET /v1/commands, computed once: the registry is fixed
	shutdown    <-chan struct{}
	tokens      *Tokens
	bodyTimeout time.Duration
	hosts       map[string]bool // Config.AllowedHosts, lower case
	origins     map[string]bool // Config.AllowedOrigins
	checkpoints func() ([]CheckpointFile, error)
	ready       func() error
	replicas    ReplicaTracker
	imageAt     func() *ImageAt
	epoch       func() uint64 // Config.RedactionEpoch
}

// NewHandler returns the HTTP handler of the API.
func NewHandler(db Backend, cfg Config) (http.Handler, error) {
	h := &handler{db: db, maxBody: cfg.MaxBody, log: cfg.Logger, shutdown: cfg.Shutdown, tokens: cfg.Tokens, ready: cfg.Ready, replicas: cfg.Replicas, imageAt: cfg.ImageAt, epoch: cfg.RedactionEpoch}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.bodyTimeout = cfg.BodyTimeout; h.bodyTimeout == 0 {
		h.bodyTimeout = DefaultBodyTimeout
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	catalog, err := json.Marshal(catalogOf(db.Registry()))
	if err != nil {
		return nil, fmt.Errorf("api: command catalogue: %w", err)
	}
	h.catalog = catalog
	h.hosts, h.origins = map[string]bool{}, map[string]bool{}
	for _, host := range cfg.AllowedHosts {
		h.hosts[strings.ToLower(host)] = true
	}
	for _, o := range cfg.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		h.origins[o] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/commands/{name}", h.submit)
	mux.HandleFunc("POST /v1/commands", h.submitBatch)
	mux.HandleFunc("GET /v1/commands", h.authorized(h.list))
	mux.HandleFunc("GET /v1/log", h.requires(ScopeLog, h.streamLog))
	mux.HandleFunc("GET /v1/log/stats", h.requires(ScopeLog, h.logStats))
	if cfg.Replicas != nil {
		mux.HandleFunc("POST /v1/replicas/{name}/ack", h.requires(ScopeLog, h.ackReplica))
	}
	if cfg.Checkpoints != nil {
		h.checkpoints = cfg.Checkpoints
		mux.HandleFunc("GET /v1/checkpoints", h.requires(ScopeCheckpoints, h.listCheckpoints))
		mux.HandleFunc("GET /v1/checkpoints/{seq}", h.requires(ScopeCheckpoints, h.serveCheckpoint))
	}
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.readyz)
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	if cfg.Checkpoint != nil {
		mux.HandleFunc("POST /v1/admin/checkpoint", h.requires(ScopeAdmin, func(w http.ResponseWriter, _ *http.Request) {
			res, err := cfg.Checkpoint()
			if err != nil {
				h.log.Error("checkpoint failed", "err", err)
				writeError(w, http.StatusInternalServerError, codeInternal, err.Error())
				return
			}
			writeJSON(w, http.StatusOK, res)
		}))
	}
	if cfg.Import != nil {
		mux.HandleFunc("POST /v1/admin/import", h.requires(ScopeAdmin, h.importHistory(cfg.Import)))
	}
	h.registerRedact(mux, cfg)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s; commands are POST /v1/commands/{name}", r.Method, r.URL.Path))
	})
	return h.guard(withEpoch(cfg.RedactionEpoch, mux)), nil
}

// Error codes of the error body.
const (
	codeMalformed      = "malformed_request"
	codeUnknownCommand = "unknown_command"
	codeTooLarge       = "too_large"
	codeInvalid        = "invalid_command"
	codeRefused        = "refused"
	codeNotAccepting   = "not_accepting_writes"
	codeInternal       = "internal"
	codeTruncated      = "log_truncated"
	codeConflict       = "idempotency_conflict"
)

func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	grant, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	version, problem := commandVersion(r.Header)
	if problem != "" {
		writeError(w, http.StatusBadRequest, codeMalformed, problem)
		return
	}
	def, ok := h.db.Registry().Lookup(name)
	var cmd commands.Command
	if version != 0 && (!ok || def.Version != version) {
		// An old version (VersionHeader): upcast as the log's entries are.
		body, bodyRead, ok := h.body(w, r)
		if !ok {
			return
		}
		var status int
		var code, msg string
		if def, cmd, status, code, msg = h.decodeOld(body, name, version); status != 0 {
			writeError(w, status, code, msg)
			return
		}
		bodyRead()
		if !grant.allows(def.Name) {
			writeError(w, http.StatusForbidden, codeForbidden, forbidden(grant, def.Name))
			return
		}
	} else {
		if !ok {
			writeError(w, http.StatusNotFound, codeUnknownCommand, fmt.Sprintf("no command named %q; GET /v1/commands lists them", name))
			return
		}
		if !grant.allows(def.Name) {
			writeError(w, http.StatusForbidden, codeForbidden, forbidden(grant, def.Name))
			return
		}
		cmd = def.New()
		body, bodyRead, ok := h.body(w, r)
		if !ok {
			return
		}
		if status, code, msg := decode(body, def.Name, cmd); status != 0 {
			writeError(w, status, code, msg)
			return
		}
		bodyRead()
	}
	key, problem := idempotencyKey(r.Header)
	if problem != "" {
		writeError(w, http.StatusBadRequest, codeMalformed, problem)
		return
	}
	meta := commands.Meta{ID: key, Actor: grant.Actor}
	dry, err := dryRunParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeMalformed, err.Error())
		return
	}
	if dry {
		h.dryRun(w, cmd, meta)
		return
	}
	res, err := h.db.SubmitMeta(r.Context(), cmd, meta)
	if err != nil {
		status, code, msg := classify(err)
		if status == http.StatusInternalServerError {
			h.log.Error("submit failed", "command", def.Name, "err", err)
		}
		writeError(w, status, code, msg)
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeAccepted(w, res)
}

// jsonContentType is the Content-Type of every answer, shared: net/http
// only reads a header's values.
var jsonContentType = []string{"application/json"}

// writeAccepted answers a command's result: {"result":...,"seq":N}, the
// bytes writeJSON writes for that map, without encoding the map by
// reflection (5.9% of the CPU of an HTTP set, profile of bench/peers).
func writeAccepted(w http.ResponseWriter, res commands.Result) {
	value, err := json.Marshal(res.Value)
	if err != nil {
		writeError(w, http.StatusInternalServerError, codeInternal, fmt.Sprintf("the command was applied as seq %d, but its result cannot be written as JSON: %v", res.Seq, err))
		return
	}
	b := make([]byte, 0, len(value)+40)
	b = append(append(append(b, `{"result":`...), value...), `,"seq":`...)
	b = append(strconv.AppendUint(b, res.Seq, 10), "}\n"...)
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// classify maps a Submit error to its HTTP status, code and message.
func classify(err error) (int, string, string) {
	var invalid *commands.InvalidError
	var refused *commands.RefusedError
	var conflict *commands.ConflictError
	switch {
	case errors.As(err, &conflict):
		return http.StatusConflict, codeConflict, conflict.Error()
	case errors.As(err, &invalid):
		return http.StatusUnprocessableEntity, codeInvalid, strings.ReplaceAll(invalid.Err.Error(), "\n", "; ")
	case errors.As(err, &refused):
		return http.StatusUnprocessableEntity, codeRefused, refused.Err.Error()
	case errors.Is(err, commands.ErrNotAccepting):
		return http.StatusServiceUnavailable, codeNotAccepting, err.Error()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, codeNotAccepting, "the request ended before the command was durable; it may still be applied"
	}
	return http.StatusInternalServerError, codeInternal, err.Error()
}

func (h *handler) list(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(h.catalog)
}

func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func (h *handler) readyz(w http.ResponseWriter, _ *http.Request) {
	err := h.db.Err()
	if err == nil && h.ready != nil {
		err = h.ready()
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, codeNotAccepting, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "seq": h.db.View().Seq})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("api: write response", "err", err)
	}
}
