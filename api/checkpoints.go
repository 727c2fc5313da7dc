package api

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

// CheckpointFile describes a checkpoint a replica may bootstrap from
// (GET /v1/checkpoints).
type CheckpointFile struct {
	Seq         uint64 `json:"seq"`
	Size        int64  `json:"size"`
	Checksum    string `json:"checksum"`    // the file's CRC-32C, hex
	Fingerprint string `json:"fingerprint"` // of the projection that wrote it, hex
	// ImageHash is the image's hash at Seq (memdb.Snapshot.Hash, hex), as
	// the file records it; empty for a file written before it did.
	ImageHash string    `json:"image_hash,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Path      string    `json:"-"`
}

// listCheckpoints answers GET /v1/checkpoints: the usable checkpoints,
// newest first.
func (h *handler) listCheckpoints(w http.ResponseWriter, _ *http.Request) {
	files, err := h.checkpoints()
	if err != nil {
		writeError(w, http.StatusInternalServerError, codeInternal, err.Error())
		return
	}
	if files == nil {
		files = []CheckpointFile{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"checkpoints": files})
}

// serveCheckpoint answers GET /v1/checkpoints/{seq}: the file, with Range
// requests (a download resumes) and an ETag of its seq and checksum.
func (h *handler) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeMalformed, fmt.Sprintf("checkpoint %q: want a seq", r.PathValue("seq")))
		return
	}
	files, err := h.checkpoints()
	if err != nil {
		writeError(w, http.StatusInternalServerError, codeInternal, err.Error())
		return
	}
	for _, f := range files {
		if f.Seq != seq {
			continue
		}
		// Opened before anything is sent: a checkpoint pruned meanwhile is
		// a 404, and one pruned while being sent is still read whole (the
		// open file outlives its name).
		file, err := os.Open(f.Path)
		if err != nil {
			break
		}
		defer file.Close()
		w.Header().Set("ETag", fmt.Sprintf(`"%d-%s"`, f.Seq, f.Checksum))
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", f.CreatedAt, file)
		return
	}
	writeError(w, http.StatusNotFound, "unknown_checkpoint", fmt.Sprintf("no checkpoint at seq %d; GET /v1/checkpoints lists them", seq))
}
