package imago

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/wal"
)

// Replica slots: a primary remembers each replica that follows its log
// (GET /v1/log?format=raw with an Imago-Replica header) and the last seq it
// sent it, so that truncation keeps what the replica has yet to apply. A
// replica not seen for SlotTTL no longer holds truncation back: when it
// returns, the primary answers 410 and it bootstraps again.

// SlotTTL is how long a replica that is not connected keeps its slot.
const SlotTTL = time.Hour

// ReplicaSlot is what a primary knows of a replica (imago.replicas).
type ReplicaSlot struct {
	Name, Address  string
	Seq            uint64 // the last seq sent to it
	Connected      bool
	ConnectedSince time.Time
	LastSeen       time.Time
}

// replicaSlots are a primary's slots, by replica name.
type replicaSlots struct {
	mu    sync.Mutex
	slots map[string]*ReplicaSlot
}

// ReplicaSeen records that the replica name (at addr) was sent the log up
// to seq, and whether its stream is still open.
func (db *DB) ReplicaSeen(name, addr string, seq uint64, connected bool) {
	r := &db.replicas
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.slots == nil {
		r.slots = map[string]*ReplicaSlot{}
	}
	now := time.Now()
	s := r.slots[name]
	if s == nil || (connected && !s.Connected) {
		s = &ReplicaSlot{Name: name, ConnectedSince: now}
		r.slots[name] = s
	}
	s.Address, s.Seq, s.Connected, s.LastSeen = addr, seq, connected, now
}

// ReplicaSlots are the replicas that followed the log within SlotTTL, by
// name.
func (db *DB) ReplicaSlots() []ReplicaSlot {
	r := &db.replicas
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []ReplicaSlot
	for name, s := range r.slots {
		if !s.Connected && time.Since(s.LastSeen) > SlotTTL {
			delete(r.slots, name)
			continue
		}
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b ReplicaSlot) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Log truncation (Options.TruncateLog) trades history for disk: after each
// checkpoint, the log entries up to the oldest checkpoint kept are removed.
// The state they produced lives on in the checkpoints, so every kept
// checkpoint still recovers (it is at or after the log's start), but a
// change of projection can no longer rebuild the image from the whole log:
// Open then refuses to start instead of starting from a partial history.

// truncateBeforeCheckpoints removes the log entries up to the oldest of the
// kept checkpoints (newest first) that this projection can load (frame
// sound, same fingerprint), but none a reactor has yet to get. With no
// such checkpoint, the log is left whole.
func (db *DB) truncateBeforeCheckpoints(kept []checkpoint.File) error {
	for _, f := range slices.Backward(kept) { // oldest first
		h, err := checkpoint.Inspect(f.Path)
		if err != nil || h.Fingerprint != db.fingerprint || h.Seq > db.log.SyncedSeq() {
			continue
		}
		first, upTo := db.log.FirstSeq(), h.Seq+1
		if slowest, ok := db.reactors.SlowestCursor(); ok && slowest+1 < upTo {
			upTo = slowest + 1
		}
		for _, r := range db.ReplicaSlots() {
			upTo = min(upTo, r.Seq+1)
		}
		if err := db.log.Truncate(upTo); err != nil {
			return fmt.Errorf("imago: truncate the log after %s: %w", f.Path, err)
		}
		if upTo > first {
			db.logger.Info("log truncated", "first_seq", upTo, "removed", upTo-first, "checkpoint", f.Path)
		}
		return nil
	}
	return nil
}

// truncatedError is the refusal to replay a truncated log (first is its
// FirstSeq) for want of a checkpoint holding the state before it; why says
// what became of the checkpoints there are.
func truncatedError(dataDir string, first uint64, why string) error {
	return fmt.Errorf("the log begins at seq %d (the entries before it were removed by log truncation) and no usable checkpoint at seq %d or later is in %s (%s): the state before seq %d exists only in checkpoints; put back one written by this projection, or run the version of the application that wrote them",
		first, first-1, CheckpointDir(dataDir), why, first)
}

// ReplayBase is where a replay of dataDir's log starts: an empty image at
// seq 0 for a whole log; for a truncated one, the oldest checkpoint at or
// after the log's start that loads (checksum and fingerprint verified). path
// names that checkpoint ("" for none).
func ReplayBase(dataDir string, app *App, log *wal.Log) (image *memdb.Image, seq uint64, path string, err error) {
	fingerprint := app.Fingerprint()
	image, err = app.newImage()
	if err != nil || log.FirstSeq() <= 1 {
		return image, 0, "", err
	}
	files, err := checkpoint.List(CheckpointDir(dataDir))
	if err != nil {
		return nil, 0, "", err
	}
	var skipped []string
	for _, f := range slices.Backward(files) {
		if f.Seq+1 < log.FirstSeq() || f.Seq > log.LastSeq() {
			continue
		}
		if image, err = app.newImage(); err != nil {
			return nil, 0, "", err
		}
		if _, _, err := checkpoint.Load(f.Path, image, fingerprint, nil); err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		return image, f.Seq, f.Path, nil
	}
	why := "there is none"
	if len(skipped) > 0 {
		why = strings.Join(skipped, "; ")
	}
	return nil, 0, "", truncatedError(dataDir, log.FirstSeq(), why)
}
