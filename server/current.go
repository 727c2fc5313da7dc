package server

import (
	"context"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/reactors"
)

// current is the served database as the SQL server, the HTTP API and the
// metrics see it: the one open now. A replica that bootstraps again opens
// another, and readers move to it with their next statement or request.
type current struct{ db func() *imago.DB }

func (c current) View() *commands.View              { return c.db().View() }
func (c current) DurableSeq() uint64                { return c.db().DurableSeq() }
func (c current) Registry() *commands.Registry      { return c.db().Registry() }
func (c current) Envelopes() *envelope.Log          { return c.db().Envelopes() }
func (c current) LogValues() envelope.Values        { return c.db().LogValues() }
func (c current) LogStats() (envelope.Stats, error) { return c.db().LogStats() }
func (c current) Err() error                        { return c.db().Err() }
func (c current) QueueDepth() int                   { return c.db().QueueDepth() }
func (c current) Tables() []*memdb.Table            { return c.db().Tables() }
func (c current) Reactors() []reactors.Status       { return c.db().Reactors() }
func (c current) SubmitMeta(ctx context.Context, cmd commands.Command, meta commands.Meta) (commands.Result, error) {
	return c.db().SubmitMeta(ctx, cmd, meta)
}
func (c current) SubmitAll(ctx context.Context, cmds []commands.Command, metas []commands.Meta) []commands.Outcome {
	return c.db().SubmitAll(ctx, cmds, metas)
}
func (c current) ReplicaSeen(name, addr string, seq uint64, connected bool) {
	c.db().ReplicaSeen(name, addr, seq, connected)
}
func (c current) ReplicaAcked(name, addr string, seq uint64) {
	c.db().ReplicaAcked(name, addr, seq)
}
func (c current) ViewAt(ctx context.Context, seq uint64) (*commands.View, error) {
	return c.db().ViewAt(ctx, seq)
}
func (c current) SeqAt(t time.Time) (uint64, error) { return c.db().SeqAt(t) }
func (c current) AuditFields() []string             { return c.db().AuditFields() }
func (c current) AuditFieldsOf(cmd string) []string { return c.db().AuditFieldsOf(cmd) }
func (c current) AuditLookup(name, value string, from, to uint64, fn func(uint64) error) error {
	return c.db().AuditLookup(name, value, from, to, fn)
}
func (c current) Changes(ctx context.Context, from, to uint64, fn func(envelope.Envelope, []memdb.Change) error) error {
	return c.db().Changes(ctx, from, to, fn)
}
func (c current) DryRun(cmd commands.Command, meta commands.Meta) (commands.Result, []memdb.Change, error) {
	return c.db().DryRun(cmd, meta)
}
