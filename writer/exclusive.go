package writer

import (
	"context"
	"fmt"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// Exclusive runs fn on the writer goroutine between two batches, with the
// working image and the seq of the last command logged: no command is
// applied or logged meanwhile, and those submitted wait their turn. It is
// how a change to what the log already holds (a redaction) is serialised
// with writes. When fn returns nil, the working image as fn left it is
// published at the same seq (readers see it from then on); when fn fails,
// the working image is reset to the published one. It returns fn's error.
func (p *Writer) Exclusive(ctx context.Context, fn func(image *memdb.Image, seq uint64) error) error {
	var err error
	pd := &pending{done: make(chan struct{})}
	pd.exclusive = func(image *memdb.Image, seq uint64) error {
		if err = p.Err(); err == nil {
			err = fn(image, seq)
		}
		return err
	}
	if p.cfg.ReplicaOf != "" {
		return fmt.Errorf("%w: this is a read-only replica; its primary, %s, changes the log", commands.ErrNotAccepting, p.cfg.ReplicaOf)
	}
	pd.logged = true // past enqueue's refusal of submissions on a replica
	if err := p.enqueue(ctx, []*pending{pd}); err != nil {
		return err
	}
	// fn runs to its end once started: waiting here past ctx would leave
	// the caller not knowing whether it ran.
	<-pd.done
	return err
}

// runExclusive runs an Exclusive function and publishes what it made.
func (p *Writer) runExclusive(pd *pending) {
	defer close(pd.done)
	if err := pd.exclusive(p.cfg.Image, p.lastSeq); err != nil {
		p.cfg.Image.Reset(p.view.Load().Snapshot)
		return
	}
	old := p.view.Swap(commands.NewView(p.cfg.Image.Snapshot(), p.lastSeq))
	old.Supersede()
}
