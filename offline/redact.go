package offline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/wal"
)

// RedactionMarker replaces a redacted payload field's value.
const RedactionMarker = "[redacted]"

// RedactionsFile records, in a data directory, each redaction: who, when,
// why and what (seqs and fields, never the old values), one JSON line each.
const RedactionsFile = "log.redactions"

// Redaction chooses entries and the payload fields to redact in them.
type Redaction struct {
	Seqs []uint64 // these entries
	// WhereField and WhereValue choose, besides, every entry whose stored
	// payload has that field with that value (compared as JSON text of a
	// string or number: "c-17", "42").
	WhereField, WhereValue string
	Fields                 []string // the payload fields replaced by RedactionMarker
	Actor, Reason          string   // who and why (both needed)
	Now                    time.Time
}

// RedactionRecord is a line of RedactionsFile.
type RedactionRecord struct {
	Time              time.Time `json:"time"`
	Actor             string    `json:"actor"`
	Reason            string    `json:"reason"`
	Fields            []string  `json:"fields"`
	Seqs              []uint64  `json:"seqs"`
	RemovedCheckpoint []string  `json:"removed_checkpoints,omitempty"`
}

// RefusedRedactionError is a redaction that would change what replay does:
// a command that succeeded would be refused.
type RefusedRedactionError struct {
	Seq     uint64
	Command string
	Err     string
}

func (e *RefusedRedactionError) Error() string {
	return fmt.Sprintf("redaction refused, nothing written: with the redacted payloads, seq %d (%s), which succeeded, would be refused: %s", e.Seq, e.Command, e.Err)
}

// redactedValues are the log's values, some replaced.
type redactedValues struct {
	envelope.Values
	values map[uint64][]byte
}

func (r redactedValues) ReadValues(from, to uint64, fn func(uint64, []byte) error) error {
	return r.Values.ReadValues(from, to, func(seq uint64, v []byte) error {
		if nv, ok := r.values[seq]; ok {
			v = nv
		}
		return fn(seq, v)
	})
}

// Redact replaces payload fields of chosen entries of a stopped server's
// log with RedactionMarker, keeping every seq, name, time and the rest.
// Before it writes anything, it replays the log with the redacted payloads
// and refuses (*RefusedRedactionError) if a command that succeeded would be
// refused. Then it rewrites the entries, compacts their range (the old
// bytes leave the log's files), removes the checkpoints at or after the
// first redacted seq (they may hold the values) and records the redaction
// in RedactionsFile. A truncated log is refused: its base checkpoint
// cannot be rebuilt.
func Redact(dataDir string, app *imago.App, r Redaction) (*RedactionRecord, error) {
	if r.Actor == "" || r.Reason == "" || len(r.Fields) == 0 {
		return nil, fmt.Errorf("a redaction needs the fields, who (--actor) and why (--reason)")
	}
	if len(r.Seqs) == 0 && r.WhereField == "" {
		return nil, fmt.Errorf("a redaction needs entries: seqs, or a field and its value")
	}
	registry, err := commands.NewRegistry(app.Commands...)
	if err != nil {
		return nil, err
	}
	if err := imago.CheckDataDir(dataDir, app); err != nil {
		return nil, err
	}
	log, err := wal.Open(imago.LogDir(dataDir), wal.Options{})
	if err != nil {
		return nil, err
	}
	defer log.Close()
	if log.FirstSeq() > 1 {
		return nil, fmt.Errorf("the log is truncated (it begins at seq %d): a redaction needs the whole log, to prove replay unchanged", log.FirstSeq())
	}
	chosen := map[uint64]bool{}
	for _, s := range r.Seqs {
		chosen[s] = true
	}
	values := map[uint64][]byte{}
	err = log.ReadValues(1, log.LastSeq(), func(seq uint64, v []byte) error {
		env, err := envelope.Decode(seq, v)
		if err != nil {
			return err
		}
		m, err := envelope.DecodePayloadMap(env.Payload)
		if err != nil {
			return err
		}
		if !chosen[seq] && !(r.WhereField != "" && matches(m[r.WhereField], r.WhereValue)) {
			return nil
		}
		changed := false
		for _, f := range r.Fields {
			if old, ok := m[f]; ok && old != RedactionMarker {
				m[f], changed = RedactionMarker, true
			}
		}
		if !changed {
			return nil
		}
		if env.Payload, err = envelope.EncodePayload(m); err != nil {
			return err
		}
		nv, err := envelope.Encode(&env)
		if err != nil {
			return err
		}
		values[seq] = nv
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("no entry holds the fields %v with a value to redact", r.Fields)
	}
	if err := sameOutcomes(app, registry, log, values); err != nil {
		return nil, err
	}
	rec := &RedactionRecord{Time: r.Now.UTC(), Actor: r.Actor, Reason: r.Reason, Fields: r.Fields}
	for s := range values {
		rec.Seqs = append(rec.Seqs, s)
	}
	slices.Sort(rec.Seqs)
	if err := log.Rewrite(values); err != nil {
		return nil, err
	}
	files, err := checkpoint.List(imago.CheckpointDir(dataDir))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Seq >= rec.Seqs[0] {
			if err := os.Remove(f.Path); err != nil {
				return nil, err
			}
			rec.RemovedCheckpoint = append(rec.RemovedCheckpoint, filepath.Base(f.Path))
		}
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dataDir, RedactionsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return rec, f.Close()
}

func matches(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case nil:
		return false
	}
	return fmt.Sprint(v) == want
}

// sameOutcomes replays the log as stored and as redacted, one command at
// a time, and refuses the redaction at the first seq that succeeded and
// would be refused.
func sameOutcomes(app *imago.App, registry *commands.Registry, log *wal.Log, values map[uint64][]byte) error {
	outcomes := func(vals envelope.Values) (map[uint64]string, error) {
		elog, err := app.EnvelopeLog(vals)
		if err != nil {
			return nil, err
		}
		image, err := app.NewImage()
		if err != nil {
			return nil, err
		}
		refused := map[uint64]string{}
		err = elog.Read(1, log.LastSeq(), func(env envelope.Envelope) error {
			e := applier.Decode(registry, env)
			if _, err := applier.Trace(image, e); err != nil {
				return err
			}
			if e.Err != nil {
				refused[env.Seq] = e.Err.Error()
			}
			return nil
		})
		return refused, err
	}
	before, err := outcomes(log)
	if err != nil {
		return err
	}
	after, err := outcomes(redactedValues{Values: log, values: values})
	if err != nil {
		return err
	}
	first := uint64(0)
	for seq := range after {
		if _, was := before[seq]; !was && (first == 0 || seq < first) {
			first = seq
		}
	}
	if first != 0 {
		var name string
		log.ReadValues(first, first, func(seq uint64, v []byte) error {
			name, _, _ = envelope.DecodeHead(seq, v)
			return nil
		})
		return &RefusedRedactionError{Seq: first, Command: name, Err: after[first]}
	}
	return nil
}
