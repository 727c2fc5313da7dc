package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/imagodb/imago/envelope"
)

// logQuery is what GET /v1/log was asked for.
type logQuery struct {
	from, to uint64  // to 0: up to the durable seq (or forever with follow)
	last     *uint64 // start this many entries before the durable seq (instead of from)
	names    map[string]bool
	follow   bool
	// raw: each entry as its log value, base64 ({"seq","value"}), as a
	// replica copies it; with follow, heartbeats while idle.
	raw bool
}

// rawEntry is a line of GET /v1/log?format=raw.
type rawEntry struct {
	Seq   uint64 `json:"seq"`
	Value []byte `json:"value"` // the log value (an encoded envelope), base64
}

// Heartbeat is the line GET /v1/log?format=raw&follow=true sends every
// HeartbeatEvery: the primary's durable seq and clock, and
// the hash of its image at its last checkpoint, which a replica of the same
// projection compares with its own at that seq.
type Heartbeat struct {
	DurableSeq uint64    `json:"durable_seq"`
	Time       time.Time `json:"time"`
	Image      *ImageAt  `json:"image,omitempty"`
	// RedactionEpoch is the number of redactions of the primary's log: a
	// replica whose copy is older bootstraps again (redact.go).
	RedactionEpoch uint64 `json:"redaction_epoch,omitempty"`
}

// ImageAt is the hash of an image at a seq (memdb.Snapshot.Hash, hex) and
// the projection's fingerprint (hex).
type ImageAt struct {
	Seq         uint64 `json:"seq"`
	Hash        string `json:"hash"`
	Fingerprint string `json:"fingerprint"`
}

// HeartbeatEvery is how often a raw follow sends a heartbeat.
const HeartbeatEvery = time.Second

// parseLogQuery reads from, to, last, name (comma-separated) and follow;
// anything else is refused by name rather than ignored. Without from or last
// the log is read from its first seq (see streamLog).
func parseLogQuery(r *http.Request) (logQuery, error) {
	var q logQuery
	params := r.URL.Query()
	for key, vals := range params {
		v := vals[len(vals)-1]
		var err error
		switch key {
		case "from":
			q.from, err = parseSeq(key, v)
		case "to":
			q.to, err = parseSeq(key, v)
		case "last":
			var n uint64
			n, err = parseSeq(key, v)
			q.last = &n
		case "follow":
			if q.follow, err = strconv.ParseBool(v); err != nil {
				err = fmt.Errorf("parameter follow=%q: want true or false", v)
			}
		case "format":
			switch v {
			case "json":
			case "raw":
				q.raw = true
			default:
				err = fmt.Errorf("parameter format=%q: want json or raw", v)
			}
		case "name":
			q.names = map[string]bool{}
			for _, n := range strings.Split(v, ",") {
				q.names[n] = true
			}
		default:
			err = fmt.Errorf("unknown parameter %q: GET /v1/log takes from, to, last, name, follow and format", key)
		}
		if err != nil {
			return q, err
		}
	}
	if q.last != nil && params.Has("from") {
		return q, fmt.Errorf("give from or last, not both")
	}
	if q.to != 0 && q.to < q.from {
		return q, fmt.Errorf("to=%d is before from=%d", q.to, q.from)
	}
	return q, nil
}

func parseSeq(key, v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parameter %s=%q: want a seq (an unsigned integer)", key, v)
	}
	return n, nil
}

// followPoll bounds how long a follower waits without a new view: in
// durability interval the durable seq moves at a sync, not at a publish.
const followPoll = 200 * time.Millisecond

// streamLog streams envelopes as JSON lines (application/x-ndjson), only up
// to the durable seq: what it hands out never disappears after a crash. With
// follow=true the stream stays open and sends entries as they become durable.
// An error after the stream began is its last line: {"error":{...}}. A log
// truncated by a checkpoint begins after seq 1: a read from before its start
// is 410 Gone (a follower that far behind must start from a checkpoint).
func (h *handler) streamLog(w http.ResponseWriter, r *http.Request) {
	q, err := parseLogQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeMalformed, err.Error())
		return
	}
	first := h.db.Envelopes().FirstSeq()
	if q.from != 0 && q.from < first {
		h.gone(w, q.from, first)
		return
	}
	q.from = max(q.from, first)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	out := &lineWriter{w: bufio.NewWriterSize(w, 64<<10), flusher: http.NewResponseController(w)}
	next := q.from
	if q.last != nil {
		durable := h.db.DurableSeq()
		next = max(durable-min(durable, *q.last)+1, first)
	}
	beat := time.Now().Add(HeartbeatEvery)
	// A replica's stream updates its slot: how far it was sent the log.
	seen := func(bool) {}
	if name := r.Header.Get("Imago-Replica"); q.raw && name != "" && h.replicas != nil {
		seen = func(connected bool) { h.replicas.ReplicaSeen(name, r.RemoteAddr, next-1, connected) }
		seen(true)
		defer func() { seen(false) }()
	}
	for {
		view := h.db.View()
		upTo := h.db.DurableSeq()
		if q.to != 0 {
			upTo = min(upTo, q.to)
		}
		if next <= upTo {
			if next, err = h.writeEntries(out, q, next, upTo); err != nil {
				out.writeError(err)
				return
			}
			seen(true)
		}
		// At least every HeartbeatEvery, busy or idle: a replica hears the
		// primary's durable seq and its image hashes also under load.
		if q.raw && q.follow && time.Now().After(beat) {
			hb := Heartbeat{DurableSeq: h.db.DurableSeq(), Time: time.Now().UTC()}
			if h.epoch != nil {
				hb.RedactionEpoch = h.epoch()
			}
			if h.imageAt != nil {
				hb.Image = h.imageAt()
			}
			if err := out.encode(map[string]Heartbeat{"heartbeat": hb}); err != nil {
				return
			}
			beat = time.Now().Add(HeartbeatEvery)
			seen(true)
		}
		if err := out.flush(); err != nil || !q.follow || (q.to != 0 && next > q.to) {
			return
		}
		select {
		case <-view.Superseded():
		case <-time.After(followPoll):
		case <-r.Context().Done():
			return
		case <-h.shutdown:
			return
		}
	}
}

// gone answers a read from before the log's first seq with 410, naming
// the oldest checkpoint the log continues from (its seq is first-1 or
// later): a follower that far behind starts from that file, then reads the
// log after it.
func (h *handler) gone(w http.ResponseWriter, from, first uint64) {
	msg := fmt.Sprintf("from=%d: the log was truncated after a checkpoint and begins at seq %d", from, first)
	var start *CheckpointFile
	if h.checkpoints != nil {
		files, err := h.checkpoints() // newest first
		if err != nil {
			h.log.Warn("api: list checkpoints for a 410", "err", err)
		}
		for i := range files {
			if files[i].Seq+1 >= first {
				start = &files[i]
			}
		}
	}
	if start == nil {
		writeError(w, http.StatusGone, codeTruncated, msg)
		return
	}
	url := "/v1/checkpoints/" + strconv.FormatUint(start.Seq, 10)
	msg += fmt.Sprintf("; start from the oldest checkpoint the log continues from, seq %d (GET %s), then read from=%d", start.Seq, url, start.Seq+1)
	writeJSON(w, http.StatusGone, map[string]any{"error": map[string]any{"code": codeTruncated, "message": msg,
		"checkpoint": map[string]any{"seq": start.Seq, "url": url}}})
}

// writeEntries writes the entries from..to that q selects and returns the
// seq after the last one read.
func (h *handler) writeEntries(out *lineWriter, q logQuery, from, to uint64) (uint64, error) {
	next := from
	if q.raw {
		// As stored: a replica upcasts with its own app, as it replays.
		err := h.db.LogValues().ReadValues(from, to, func(seq uint64, value []byte) error {
			next = seq + 1
			return out.encode(rawEntry{Seq: seq, Value: value})
		})
		return next, err
	}
	// ReadAll: an entry the app's upcasters retired is passed, not sent.
	err := h.db.Envelopes().ReadAll(from, to, func(env envelope.Envelope) error {
		next = env.Seq + 1
		if env.Retired != "" || q.names != nil && !q.names[env.Name] {
			return nil
		}
		return out.encode(env)
	})
	return next, err
}

// logStats answers GET /v1/log/stats with envelope.Stats up to the
// durable seq.
func (h *handler) logStats(w http.ResponseWriter, _ *http.Request) {
	st, err := h.db.LogStats()
	if err != nil {
		writeError(w, http.StatusInternalServerError, codeInternal, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// lineWriter writes JSON lines and flushes them to the client.
type lineWriter struct {
	w       *bufio.Writer
	flusher *http.ResponseController
	err     error
}

func (l *lineWriter) encode(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := l.w.Write(append(b, '\n')); err != nil {
		l.err = err // the client went away
		return err
	}
	return nil
}

func (l *lineWriter) writeError(err error) {
	if l.err == nil {
		l.encode(map[string]any{"error": map[string]string{"code": codeInternal, "message": err.Error()}})
		l.flush()
	}
}

func (l *lineWriter) flush() error {
	if l.err != nil {
		return l.err
	}
	if err := l.w.Flush(); err != nil {
		return err
	}
	return l.flusher.Flush()
}
