package applier

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// Replay configures the application of a range of the log to an image.
type Replay struct {
	// Image holds the commands 1..From-1 (empty, or loaded from a
	// checkpoint at From-1); the replay applies From..To to it.
	Image    *memdb.Image
	Registry *commands.Registry
	Log      *envelope.Log
	From, To uint64
	// Strict makes a command that fails on replay fatal instead of skipped.
	Strict bool
	Logger *slog.Logger // default: slog.Default()
	// Progress, if set, is called after each batch with the commands
	// replayed so far and the number to replay.
	Progress func(done, total uint64)
}

// Stats describe a replay.
type Stats struct {
	Commands uint64        // log entries replayed
	Skipped  uint64        // entries whose Apply failed and were skipped
	Retired  uint64        // entries the log's upcaster retired (not applied)
	LastSeq  uint64        // the seq the image is at afterwards
	Duration time.Duration // time the replay took
}

// batchSize is the number of commands replayed per image transaction:
// large, so that rows written by several commands of a batch (a product's
// stock, an order placed then paid) reach the index trees once.
const batchSize = 8192

// Run applies the logged commands From..To to the image, in batches, and
// returns the resulting snapshot. Another goroutine reads and decodes the
// next batch meanwhile.
func (r Replay) Run() (*memdb.Snapshot, Stats, error) {
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	start := time.Now()
	st := Stats{LastSeq: r.From - min(r.From, 1)}
	batches := make(chan []*Entry, 2)
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	var last, retired uint64 // the last seq read and the entries retired, once readErr is received
	go func() {
		defer close(batches)
		readErr <- r.read(batches, stop, &last, &retired)
	}()
	total := r.To + 1 - min(r.To+1, r.From)
	for batch := range batches {
		if err := r.apply(batch, &st); err != nil {
			close(stop)
			for range batches {
			}
			return nil, st, fmt.Errorf("applier: replay: %w", err)
		}
		if r.Progress != nil {
			r.Progress(st.Commands, total)
		}
	}
	if err := <-readErr; err != nil {
		return nil, st, fmt.Errorf("applier: replay: %w", err)
	}
	// Retired entries at the end still count: the image is at their seq.
	st.LastSeq, st.Retired = max(st.LastSeq, last), retired
	st.Duration = time.Since(start)
	return r.Image.Snapshot(), st, nil
}

// errStopped ends a read whose batches are no longer wanted.
var errStopped = errors.New("stopped")

// read reads and decodes the log From..To and sends it in batches, until
// stop is closed; entries the log's upcaster retired are counted, not sent.
func (r Replay) read(batches chan<- []*Entry, stop <-chan struct{}, last, retired *uint64) error {
	batch := make([]*Entry, 0, batchSize)
	send := func() error {
		select {
		case batches <- batch:
			batch = make([]*Entry, 0, batchSize)
			return nil
		case <-stop:
			return errStopped
		}
	}
	err := r.Log.ReadAll(r.From, r.To, func(env envelope.Envelope) error {
		*last = env.Seq
		if env.Retired != "" {
			*retired++
			return nil
		}
		if batch = append(batch, Decode(r.Registry, env)); len(batch) == batchSize {
			return send()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = send()
	}
	return err
}

// apply applies one batch of logged commands.
func (r Replay) apply(batch []*Entry, st *Stats) error {
	if _, err := Batch(r.Image, batch, 0, false); err != nil {
		return err
	}
	for _, e := range batch {
		if e.Err != nil {
			if r.Strict {
				return fmt.Errorf("replay of seq %d (%s) failed: %w", e.Env.Seq, e.Env.Name, e.Err)
			}
			st.Skipped++
			r.Logger.Warn("replay skipped a command that failed", "seq", e.Env.Seq, "command", e.Env.Name, "err", e.Err)
		}
	}
	st.LastSeq = batch[len(batch)-1].Env.Seq
	st.Commands += uint64(len(batch))
	return nil
}
