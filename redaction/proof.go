package redaction

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// RefusedError is a redaction whose replay would differ from the log's in
// more than values derived from the redacted fields: nothing was written.
type RefusedError struct {
	Seq     uint64
	Command string
	// Reason says what would differ at Seq; Table, Key and Column name the
	// row and column when a row differs (Column "" for the whole row).
	Reason        string
	Table, Column string
	Key           []any
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("redaction refused, nothing written: replayed with the redacted payloads, seq %d (%s) %s", e.Seq, e.Command, e.Reason)
}

// Proof replays a log as stored and as redacted side by side and compares
// what each command did (see the package comment). It applies proofBatch
// commands in one image transaction on each side and compares the batch's
// outcomes and changed rows command by command; a batch that differs is
// rolled back (both images are reset to their snapshots from before it)
// and replayed again one command at a time, so that the refusal names the
// first seq, table, row and column that differ, as a replay of one
// command per transaction would. It is run in steps (Run), so that a
// running server proves the bulk of its log while writes go on and only
// the tail while they wait.
type Proof struct {
	registry  *commands.Registry
	upcaster  envelope.Upcaster
	stored    *memdb.Image // the replay of the log as stored
	redacted  *memdb.Image // the replay of the log as redacted
	derived   map[string]bool
	next      uint64
	Commands  uint64 // commands replayed (twice) so far
	Redacted  uint64 // of which redacted entries
	Differing uint64 // cells that differ, derived, in the rows commands changed
	// secrets are the redacted values met so far: a key holding one is
	// not shown in a refusal.
	secrets []string
}

// proofBatch is the number of commands the proof applies in one image
// transaction per replay. One transaction per command made the proof
// 10-15x a plain replay (10k commands: 30.8 s against 3.0 s; the image
// commit, copying the radix trees' paths, dominates); replay's own batch
// size, 1,024, brings it to about twice a replay (two replays) plus the
// comparison (BenchmarkRedact).
const proofBatch = 1024

// NewProof starts a proof from image, which holds the log up to seq base,
// where the two replays are equal (base is before the first redacted seq).
// image becomes the stored replay's; the redacted replay starts from a
// copy (an O(1) snapshot).
func NewProof(registry *commands.Registry, upcaster envelope.Upcaster, image *memdb.Image, base uint64, derived []string) (*Proof, error) {
	red, err := memdb.NewImage(image.Tables()...)
	if err != nil {
		return nil, err
	}
	red.Reset(image.Snapshot())
	p := &Proof{registry: registry, upcaster: upcaster, stored: image, redacted: red, derived: map[string]bool{}, next: base + 1}
	for _, d := range derived {
		p.derived[d] = true
	}
	return p, nil
}

// Next is the next seq Run replays.
func (p *Proof) Next() uint64 { return p.next }

// Image is the redacted replay's image, at Next()-1.
func (p *Proof) Image() *memdb.Image { return p.redacted }

// pending is a log entry read for the next batch: its stored value and
// its redacted one (nil: not replaced).
type pending struct {
	seq       uint64
	value, nv []byte
}

// Run replays Next()..to of values, as stored and with the replaced values,
// and refuses (*RefusedError) at the first seq where they differ in more
// than derived values. A batch ends at each seq of stops, where after (if
// set) is called with the redacted replay's image at that seq.
func (p *Proof) Run(values envelope.Values, replaced map[uint64][]byte, to uint64, stops map[uint64]bool, after func(seq uint64, redacted *memdb.Image) error) error {
	if to < p.next {
		return nil
	}
	batch := make([]pending, 0, proofBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		last := batch[len(batch)-1].seq
		err := p.runBatch(batch)
		batch = batch[:0]
		if err == nil && after != nil && stops[last] {
			err = after(last, p.redacted)
		}
		return err
	}
	err := values.ReadValues(p.next, to, func(seq uint64, v []byte) error {
		// The log's value is valid during the call only: kept past it.
		batch = append(batch, pending{seq: seq, value: slices.Clone(v), nv: replaced[seq]})
		if len(batch) == proofBatch || stops[seq] {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// runBatch proves a batch: in one transaction on each side, or, when the
// batch differs, again one command at a time from before it.
func (p *Proof) runBatch(batch []pending) error {
	for _, pe := range batch {
		if pe.nv != nil {
			p.remember(pe.value, pe.nv)
		}
	}
	stored, redacted, differing := p.stored.Snapshot(), p.redacted.Snapshot(), p.Differing
	same, err := p.tryBatch(batch)
	if err != nil {
		return err
	}
	if !same {
		p.stored.Reset(stored)
		p.redacted.Reset(redacted)
		p.Differing = differing
		for _, pe := range batch {
			if err := p.runOne(pe); err != nil {
				return err
			}
		}
		return nil
	}
	for _, pe := range batch {
		p.count(pe)
	}
	return nil
}

// count moves the proof past a proven entry.
func (p *Proof) count(pe pending) {
	p.next, p.Commands = pe.seq+1, p.Commands+1
	if pe.nv != nil {
		p.Redacted++
	}
}

// entries decodes a pending entry as each replay reads it (nil: retired).
func (p *Proof) entries(pe pending) (eo, er *applier.Entry, err error) {
	if eo, err = p.decode(pe.seq, pe.value); err != nil {
		return nil, nil, err
	}
	switch {
	case pe.nv != nil:
		er, err = p.decode(pe.seq, pe.nv)
	case eo != nil:
		er = applier.Decode(p.registry, eo.Env) // a command of its own: Apply may keep or change what it is given
	}
	return eo, er, err
}

// tryBatch applies the batch in one transaction on each side and reports
// whether every command did the same on both (what judge accepts).
func (p *Proof) tryBatch(batch []pending) (same bool, err error) {
	eos, ers := make([]*applier.Entry, 0, len(batch)), make([]*applier.Entry, 0, len(batch))
	for _, pe := range batch {
		eo, er, err := p.entries(pe)
		if err != nil {
			return false, err
		}
		if (eo == nil) != (er == nil) {
			return false, nil
		}
		if eo != nil {
			eos, ers = append(eos, eo), append(ers, er)
		}
	}
	co, err := applier.TraceBatch(p.stored, eos)
	if err != nil {
		return false, err
	}
	cr, err := applier.TraceBatch(p.redacted, ers)
	if err != nil {
		return false, err
	}
	for i := range eos {
		var refused *RefusedError
		if err := p.judge(eos[i].Env.Seq, eos[i], ers[i], co[i], cr[i]); errors.As(err, &refused) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	return true, nil
}

// runOne proves one entry in a transaction of its own on each side.
func (p *Proof) runOne(pe pending) error {
	eo, er, err := p.entries(pe)
	if err != nil {
		return err
	}
	if err := p.step(pe.seq, eo, er); err != nil {
		return err
	}
	p.count(pe)
	return nil
}

// decode is the entry of value v at seq as replay decodes it (upcast);
// nil for an entry the upcasters retired.
func (p *Proof) decode(seq uint64, v []byte) (*applier.Entry, error) {
	var e *applier.Entry
	err := envelope.NewLog(one{seq, v}).WithUpcaster(p.upcaster).Read(seq, seq, func(env envelope.Envelope) error {
		e = applier.Decode(p.registry, env)
		return nil
	})
	return e, err
}

// remember keeps the values of the fields a redaction replaced in an entry
// (old value v, new value nv), to keep them out of refusals.
func (p *Proof) remember(v, nv []byte) {
	a, errA := envelope.Decode(0, v)
	b, errB := envelope.Decode(0, nv)
	if errA != nil || errB != nil {
		return
	}
	ma, errA := envelope.DecodePayloadMap(a.Payload)
	mb, errB := envelope.DecodePayloadMap(b.Payload)
	if errA != nil || errB != nil {
		return
	}
	for k, old := range ma {
		if IsMarker(mb[k]) && !IsMarker(old) {
			p.secrets = append(p.secrets, strings.ToLower(fmt.Sprint(old)))
		}
	}
}

// shown is a row key for a refusal: a value that holds a redacted value,
// or is part of one (the domain of a redacted email), is masked.
func (p *Proof) shown(key []any) []any {
	out := make([]any, len(key))
	for i, v := range key {
		out[i] = v
		s := strings.ToLower(fmt.Sprint(v))
		for _, secret := range p.secrets {
			if len(s) >= 3 && strings.Contains(secret, s) || strings.Contains(s, secret) {
				out[i] = "(a redacted value)"
				break
			}
		}
	}
	return out
}

// one is a log of one value.
type one struct {
	seq   uint64
	value []byte
}

func (o one) FirstSeq() uint64 { return o.seq }
func (o one) ReadValues(from, to uint64, fn func(uint64, []byte) error) error {
	if from <= o.seq && o.seq <= to {
		return fn(o.seq, o.value)
	}
	return nil
}

// step applies one entry to each replay and compares.
func (p *Proof) step(seq uint64, eo, er *applier.Entry) error {
	if (eo == nil) != (er == nil) {
		name := ""
		if eo != nil {
			name = eo.Env.Name
		}
		return &RefusedError{Seq: seq, Command: name, Reason: "would be retired in one replay and not in the other"}
	}
	if eo == nil {
		return nil
	}
	co, err := applier.Trace(p.stored, eo)
	if err != nil {
		return err
	}
	cr, err := applier.Trace(p.redacted, er)
	if err != nil {
		return err
	}
	return p.judge(seq, eo, er, co, cr)
}

// judge compares what an entry did in each replay: its outcome, and the
// rows it changed (co, cr).
func (p *Proof) judge(seq uint64, eo, er *applier.Entry, co, cr []memdb.Change) error {
	name := eo.Env.Name
	refuse := func(reason string) error { return &RefusedError{Seq: seq, Command: name, Reason: reason} }
	switch {
	case eo.Err == nil && er.Err != nil:
		return refuse("succeeded, and would fail: " + er.Err.Error())
	case eo.Err != nil && er.Err == nil:
		return refuse("failed, and would succeed (" + eo.Err.Error() + ")")
	case eo.Err != nil:
		var ro, rr *commands.RefusedError
		if errors.As(eo.Err, &ro) != errors.As(er.Err, &rr) {
			return refuse(fmt.Sprintf("failed as stored (%v), and would fail otherwise: %v", eo.Err, er.Err))
		}
		return nil
	}
	return p.compare(seq, name, co, cr)
}

// compare refuses changes that differ in rows or in cells not derived.
func (p *Proof) compare(seq uint64, name string, co, cr []memdb.Change) error {
	for i := 0; i < max(len(co), len(cr)); i++ {
		if i >= len(co) || i >= len(cr) || co[i].Table != cr[i].Table || !bytes.Equal(rowKey(co[i]), rowKey(cr[i])) {
			c := cr[min(i, len(cr)-1)]
			if i < len(co) {
				c = co[i]
			}
			key := p.shown(keyOf(c))
			return &RefusedError{Seq: seq, Command: name, Table: c.Table.Name(), Key: key,
				Reason: fmt.Sprintf("would change other rows: row %v of %s is changed in one replay only", key, c.Table.Name())}
		}
		if err := p.compareRow(seq, name, co[i], cr[i]); err != nil {
			return err
		}
	}
	return nil
}

func (p *Proof) compareRow(seq uint64, name string, o, r memdb.Change) error {
	t := o.Table
	key := p.shown(keyOf(o))
	if (o.After == nil) != (r.After == nil) {
		return &RefusedError{Seq: seq, Command: name, Table: t.Name(), Key: key,
			Reason: fmt.Sprintf("would delete row %v of %s in one replay only", key, t.Name())}
	}
	if o.After == nil {
		return nil
	}
	if t == applier.IdempotencyKeys {
		return p.compareKeys(seq, name, o.After, r.After)
	}
	for i, c := range t.Columns() {
		a, _ := memdb.AppendValue(nil, c.Type.Kind, o.After[i])
		b, _ := memdb.AppendValue(nil, c.Type.Kind, r.After[i])
		if bytes.Equal(a, b) {
			continue
		}
		if p.derived[t.Name()+"."+c.Name] || holdsMarker(r.After[i]) {
			p.Differing++
			continue
		}
		return &RefusedError{Seq: seq, Command: name, Table: t.Name(), Column: c.Name, Key: key,
			Reason: fmt.Sprintf("would set %s.%s of row %v to another value, which does not hold the marker %q...: the redaction would change more than the redacted data (declare the column derived, table.column, if it is computed from a redacted field)",
				t.Name(), c.Name, key, markerPrefix)}
	}
	return nil
}

// compareKeys compares the idempotency keys of a bucket (Imago's own
// table, see package applier) key by key: a keyed command's remembered body
// hash is the hash of its payload, so it differs whenever a field of the
// payload is redacted, and is derived by definition (a retry with the
// original body then conflicts: what it asked for can no longer be
// checked). Anything else of a key must be equal.
func (p *Proof) compareKeys(seq uint64, name string, o, r memdb.Row) error {
	ok, errO := applier.UnpackIdempotencyKeys(o)
	rk, errR := applier.UnpackIdempotencyKeys(r)
	if err := errors.Join(errO, errR); err != nil {
		return err
	}
	refuse := func(reason string) error {
		return &RefusedError{Seq: seq, Command: name, Table: "idempotency_keys", Reason: reason}
	}
	if len(ok) != len(rk) {
		return refuse(fmt.Sprintf("would remember %d idempotency keys where %d are", len(rk), len(ok)))
	}
	for i := range ok {
		for j, c := range applier.IdempotencyKeyColumns {
			a, _ := memdb.AppendValue(nil, c.Type.Kind, ok[i][j])
			b, _ := memdb.AppendValue(nil, c.Type.Kind, rk[i][j])
			switch {
			case bytes.Equal(a, b):
			case c.Name == "body_sha256":
				p.Differing++
			default:
				return refuse(fmt.Sprintf("would change the %s of a remembered idempotency key (the command's outcome differs)", c.Name))
			}
		}
	}
	return nil
}

// holdsMarker tells whether a cell holds the marker's text, in any case.
func holdsMarker(v any) bool {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return false
	}
	return strings.Contains(strings.ToLower(s), markerPrefix)
}

// rowKey is the encoded primary key of a changed row.
func rowKey(c memdb.Change) []byte {
	var key []byte
	for i, v := range keyOf(c) {
		col, _ := c.Table.Column(c.Table.Primary().ColumnNames()[i])
		key, _ = memdb.AppendValue(key, c.Table.Columns()[col].Type.Kind, v)
	}
	return key
}

// keyOf is the primary key of a changed row, for messages.
func keyOf(c memdb.Change) []any {
	row := c.After
	if row == nil {
		row = c.Before
	}
	var key []any
	for _, name := range c.Table.Primary().ColumnNames() {
		i, _ := c.Table.Column(name)
		key = append(key, row[i])
	}
	return key
}
