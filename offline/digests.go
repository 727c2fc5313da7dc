package offline

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// DigestLine is one line of a digests file (imago replay --digests), JSON:
// the header (App set), a command (Name set) or the tables' digests at a
// seq (Tables set).
type DigestLine struct {
	App         string `json:"app,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Every       uint64 `json:"every,omitempty"`

	Seq     uint64          `json:"seq,omitempty"`
	Name    string          `json:"name,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"` // as this build's upcasters made it
	// Outcome: "" (applied), "refused: …", "retired: …", "undecodable: …".
	Outcome string `json:"outcome,omitempty"`
	// Digest is a SHA-256 (16 bytes, hex) of Changes: equal digests, equal
	// effects.
	Digest  string      `json:"digest,omitempty"`
	Changes []RowChange `json:"changes,omitempty"`

	// Tables: each table's digest (rows in primary-key order).
	Tables map[string]string `json:"tables,omitempty"`
}

// RowChange is a row a command changed: Before nil, inserted; After nil,
// deleted.
type RowChange struct {
	Table  string         `json:"table"`
	Key    []any          `json:"key"`
	Before map[string]any `json:"before,omitempty"`
	After  map[string]any `json:"after,omitempty"`
}

// DigestOptions configure ReplayDigests.
type DigestOptions struct {
	To    uint64 // last seq replayed (0: the log's end)
	Every uint64 // the tables' digests every this many commands (0: 10000), and at the end
}

// ReplayDigests replays a stopped server's log (a copy of production's) with
// app, one command at a time (applier.Trace), and writes to w a line per
// command (what it changed, and a digest of that) and the digest of every
// table every opts.Every commands: what `imago diff` compares between two
// builds. Nothing in the directory changes. It returns the last seq.
func ReplayDigests(dataDir string, app *imago.App, opts DigestOptions, w io.Writer) (uint64, error) {
	registry, log, err := openStopped(dataDir, app)
	if err != nil {
		return 0, err
	}
	defer log.Close()
	if opts.Every == 0 {
		opts.Every = 10000
	}
	to := opts.To
	if to == 0 || to > log.LastSeq() {
		to = log.LastSeq()
	}
	elog, err := app.EnvelopeLog(log)
	if err != nil {
		return 0, err
	}
	image, base, _, err := imago.ReplayBase(dataDir, app, log)
	if err != nil {
		return 0, err
	}
	out := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(out)
	fp := app.Fingerprint()
	if err := enc.Encode(DigestLine{App: app.Name, Fingerprint: hex.EncodeToString(fp[:8]), Every: opts.Every}); err != nil {
		return 0, err
	}
	last, n := base, uint64(0)
	err = elog.ReadAll(base+1, to, func(env envelope.Envelope) error {
		line, err := traceOne(image, registry, env)
		if err != nil {
			return err
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
		last = env.Seq
		if n++; n%opts.Every == 0 {
			return encodeTables(enc, image, last)
		}
		return nil
	})
	if err == nil && n%opts.Every != 0 {
		err = encodeTables(enc, image, last)
	}
	if err == nil {
		err = out.Flush()
	}
	return last, err
}

// traceOne applies env and describes what it did.
func traceOne(image *memdb.Image, registry *commands.Registry, env envelope.Envelope) (DigestLine, error) {
	line := DigestLine{Seq: env.Seq, Name: env.Name}
	var err error
	if line.Payload, err = envelope.PayloadJSON(env.Payload); err != nil {
		return line, err
	}
	if env.Retired != "" {
		line.Outcome = "retired: " + env.Retired
		return line, nil
	}
	e := applier.Decode(registry, env)
	if e.Err != nil {
		line.Outcome = "undecodable: " + e.Err.Error()
		return line, nil
	}
	changes, err := applier.Trace(image, e)
	if err != nil {
		return line, err
	}
	if e.Err != nil {
		line.Outcome = "refused: " + e.Err.Error()
	}
	for _, c := range changes {
		line.Changes = append(line.Changes, rowChange(c))
	}
	line.Digest = changesDigest(line.Outcome, line.Changes, nil)
	return line, nil
}

func rowChange(c memdb.Change) RowChange {
	rc := RowChange{Table: c.Table.Name(), Before: c.Table.Object(c.Before), After: c.Table.Object(c.After)}
	row := c.After
	if row == nil {
		row = c.Before
	}
	for _, name := range c.Table.Primary().ColumnNames() {
		i, _ := c.Table.Column(name)
		rc.Key = append(rc.Key, row[i])
	}
	return rc
}

// changesDigest digests an outcome and its changes as JSON, without the
// ignored columns ("table.column").
func changesDigest(outcome string, changes []RowChange, ignore map[string]bool) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.Encode(outcome)
	for _, c := range changes {
		enc.Encode([]any{c.Table, c.Key, without(c.Table, c.Before, ignore), without(c.Table, c.After, ignore)})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func without(table string, row map[string]any, ignore map[string]bool) map[string]any {
	if row == nil || len(ignore) == 0 {
		return row
	}
	out := make(map[string]any, len(row))
	for k, v := range row {
		if !ignore[table+"."+k] {
			out[k] = v
		}
	}
	return out
}

// encodeTables writes each table's digest at seq.
func encodeTables(enc *json.Encoder, image *memdb.Image, seq uint64) error {
	snap := image.Snapshot()
	line := DigestLine{Seq: seq, Tables: map[string]string{}}
	for _, t := range image.Tables() {
		h := sha256.New()
		je := json.NewEncoder(h)
		it, err := snap.Scan(t.Primary(), nil)
		if err != nil {
			return err
		}
		for row := it.NextRow(); row != nil; row = it.NextRow() {
			if err := je.Encode(row); err != nil {
				return err
			}
		}
		line.Tables[t.Name()] = hex.EncodeToString(h.Sum(nil)[:16])
	}
	return enc.Encode(line)
}

// Divergence is the first seq where two digests files differ.
type Divergence struct {
	Seq     uint64
	Name    string          // the command (A's name; B's if A has none)
	Payload json.RawMessage // A's payload
	// OutcomeA and OutcomeB: "" applied, else refused, retired, undecodable.
	OutcomeA, OutcomeB string
	// Rows are the rows whose change differs: in A, in B (nil: no change).
	Rows []RowDiff
	// Tables: the tables whose digests differ (a divergence seen only
	// there, at a seq of the table digests).
	Tables []string
}

// RowDiff is a row a command changed differently in A and B.
type RowDiff struct {
	Table string
	Key   []any
	A, B  *RowChange
}

// Diff reads two digests files (of the same log, replayed by two builds)
// and returns the first seq where they diverge, or nil: a command with
// another outcome or other changed rows (but for the columns ignored,
// "table.column"), or different table digests (at tables without ignored
// columns).
func Diff(a, b io.Reader, ignore []string) (*Divergence, error) {
	ign := map[string]bool{}
	ignTable := map[string]bool{}
	for _, c := range ignore {
		t, _, ok := strings.Cut(c, ".")
		if !ok {
			return nil, fmt.Errorf("--ignore %q: give table.column", c)
		}
		ign[c], ignTable[t] = true, true
	}
	ra, rb := newDigestReader(a), newDigestReader(b)
	for {
		la, oka, err := ra.next()
		if err != nil {
			return nil, fmt.Errorf("A: %w", err)
		}
		lb, okb, err := rb.next()
		if err != nil {
			return nil, fmt.Errorf("B: %w", err)
		}
		if !oka || !okb {
			if oka != okb {
				return nil, fmt.Errorf("A and B end at different lines: replay both up to the same seq (--to)")
			}
			return nil, nil
		}
		if la.App != "" || lb.App != "" {
			continue // headers
		}
		if la.Seq != lb.Seq || (la.Tables == nil) != (lb.Tables == nil) {
			return nil, fmt.Errorf("A's line at seq %d and B's at seq %d do not correspond: replay the same log with the same --every", la.Seq, lb.Seq)
		}
		if la.Tables != nil {
			var differ []string
			for t, d := range la.Tables {
				if !ignTable[t] && lb.Tables[t] != "" && lb.Tables[t] != d {
					differ = append(differ, t)
				}
			}
			if len(differ) > 0 {
				slices.Sort(differ)
				return &Divergence{Seq: la.Seq, Tables: differ}, nil
			}
			continue
		}
		if changesDigest(kind(la.Outcome), la.Changes, ign) == changesDigest(kind(lb.Outcome), lb.Changes, ign) {
			continue
		}
		d := &Divergence{Seq: la.Seq, Name: la.Name, Payload: la.Payload, OutcomeA: la.Outcome, OutcomeB: lb.Outcome}
		if d.Name == "" {
			d.Name = lb.Name
		}
		d.Rows = rowDiffs(la.Changes, lb.Changes, ign)
		return d, nil
	}
}

// kind is an outcome without its message: a refusal reworded is not a
// divergence, a refusal against an application is.
func kind(outcome string) string {
	k, _, _ := strings.Cut(outcome, ":")
	return k
}

func rowDiffs(a, b []RowChange, ign map[string]bool) []RowDiff {
	key := func(c RowChange) string {
		k, _ := json.Marshal([]any{c.Table, c.Key})
		return string(k)
	}
	bs := map[string]*RowChange{}
	for i := range b {
		bs[key(b[i])] = &b[i]
	}
	same := func(x, y *RowChange) bool {
		return changesDigest("", []RowChange{*x}, ign) == changesDigest("", []RowChange{*y}, ign)
	}
	var out []RowDiff
	seen := map[string]bool{}
	for i := range a {
		k := key(a[i])
		seen[k] = true
		if other := bs[k]; other == nil || !same(&a[i], other) {
			out = append(out, RowDiff{Table: a[i].Table, Key: a[i].Key, A: &a[i], B: other})
		}
	}
	for i := range b {
		if !seen[key(b[i])] {
			out = append(out, RowDiff{Table: b[i].Table, Key: b[i].Key, B: &b[i]})
		}
	}
	return out
}

type digestReader struct{ dec *json.Decoder }

func newDigestReader(r io.Reader) *digestReader {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	dec.UseNumber()
	return &digestReader{dec: dec}
}

func (r *digestReader) next() (DigestLine, bool, error) {
	var l DigestLine
	if err := r.dec.Decode(&l); err == io.EOF {
		return l, false, nil
	} else if err != nil {
		return l, false, err
	}
	return l, true, nil
}
