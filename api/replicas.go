package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-json-experiment/json/jsontext"
)

// ReplicaTracker keeps a primary's replica slots (*imago.DB is one).
type ReplicaTracker interface {
	// ReplicaSeen: the replica name (at addr) was sent the log up to seq;
	// connected tells whether its stream is still open.
	ReplicaSeen(name, addr string, seq uint64, connected bool)
	// ReplicaAcked: the replica name applied and logged the log up to seq.
	ReplicaAcked(name, addr string, seq uint64)
}

// replicaAck is the body of POST /v1/replicas/{name}/ack.
type replicaAck struct {
	Seq uint64 `json:"seq"`
}

// ackReplica answers POST /v1/replicas/{name}/ack {"seq": N}: the replica
// applied and logged the primary's entries up to seq N (it sends one with
// each heartbeat it hears). Its slot keeps the seq: imago.replicas' lag is
// counted from it, and log truncation keeps what follows it. A seq past
// the durable seq, which no replica can have, is refused and changes
// nothing. 204 on success.
func (h *handler) ackReplica(w http.ResponseWriter, r *http.Request) {
	body, done, ok := h.body(w, r)
	if !ok {
		return
	}
	var ack replicaAck
	if err := decodeJSON(body, jsontext.KindBeginObject, &ack); err != nil {
		if errors.Is(err, errEmpty) || errors.Is(err, errTrailing) {
			writeError(w, http.StatusBadRequest, codeMalformed, `the body must be one JSON object: {"seq": N}`)
			return
		}
		status, code, msg := describe(err, "")
		writeError(w, status, code, msg)
		return
	}
	done()
	if durable := h.db.DurableSeq(); ack.Seq > durable {
		writeError(w, http.StatusBadRequest, codeMalformed, fmt.Sprintf("field \"seq\": %d is past this primary's durable seq %d: no replica can have applied it", ack.Seq, durable))
		return
	}
	h.replicas.ReplicaAcked(r.PathValue("name"), r.RemoteAddr, ack.Seq)
	w.WriteHeader(http.StatusNoContent)
}
