package imago

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/wal"
)

// The audit index: the log's entries by actor and by the payload fields
// the app declares per command (App.AuditFields), kept in the log's store
// (wal/index.go) so that "every command of customer X" or "what did actor
// Y do" reads the entries it names instead of the whole log.
//
// It follows the durable log beside the writer: a goroutine indexes the
// entries logged since it last did (at Open, the backfill of an existing
// log or the catch-up of what a crash lost; then every auditEvery), and
// records how far it got with the keys. Readers use the index up to that
// seq and read the entries after it (AuditLookup), so an answer never
// misses an entry, however far behind the index is.

// auditEvery is how often the index follows the log.
const auditEvery = 50 * time.Millisecond

// auditBatch is the entries indexed per store batch.
const auditBatch = 8192

// AuditActor is the name the actor is indexed under.
const AuditActor = "actor"

// auditIndex maintains a DB's audit index.
type auditIndex struct {
	log    *wal.Log
	elog   *envelope.Log
	fields map[string][]string // command -> payload fields, as declared
	set    string              // the declaration's digest: another one is indexed anew
	// through is the seq the index covers, for readers.
	through atomic.Uint64
	// mu is held while a batch of entries is read and indexed, and while
	// entries are rewritten (redaction, which drops the index in the same
	// batch: the pairs of the old values must not be written after it).
	mu sync.Mutex
}

// rewriting runs rewrite (a redaction's rewrite of entries, which drops
// the index in the log) with no batch being indexed, and starts the index
// again from the log's first entry if it did.
func (a *auditIndex) rewriting(rewrite func() (rewrote bool)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rewrite() {
		a.through.Store(0)
	}
}

func newAuditIndex(log *wal.Log, elog *envelope.Log, fields map[string][]string) (*auditIndex, error) {
	for cmd, fs := range fields {
		if slices.Contains(fs, AuditActor) {
			return nil, fmt.Errorf("App.AuditFields[%q]: a payload field named %q: the actor is indexed by that name already", cmd, AuditActor)
		}
	}
	a := &auditIndex{log: log, elog: elog, fields: fields, set: auditSet(fields)}
	through, err := log.IndexedThrough(a.set)
	if err != nil {
		return nil, err
	}
	a.through.Store(through)
	return a, nil
}

// auditSet is the digest of a declaration of indexed fields.
func auditSet(fields map[string][]string) string {
	cmds := make([]string, 0, len(fields))
	for c, fs := range fields {
		cmds = append(cmds, c+"="+strings.Join(fs, ","))
	}
	sort.Strings(cmds)
	sum := sha256.Sum256([]byte("actor;" + strings.Join(cmds, ";")))
	return hex.EncodeToString(sum[:8])
}

// AuditFields are the payload fields indexed for some command, sorted.
func (a *auditIndex) AuditFields() []string {
	var all []string
	for _, fs := range a.fields {
		all = append(all, fs...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// pairs are the index's pairs of env.
func (a *auditIndex) pairs(env envelope.Envelope, out []wal.IndexPair) ([]wal.IndexPair, error) {
	out = append(out, wal.IndexPair{Seq: env.Seq, Name: AuditActor, Value: env.Actor})
	names := a.fields[env.Name]
	if len(names) == 0 {
		return out, nil
	}
	values, err := envelope.PayloadFields(env.Payload, names)
	if err != nil {
		return nil, fmt.Errorf("imago: audit index: seq %d: %w", env.Seq, err)
	}
	for i, v := range values {
		if v != "" {
			out = append(out, wal.IndexPair{Seq: env.Seq, Name: names[i], Value: v})
		}
	}
	return out, nil
}

// catchUp indexes the entries after the index's seq up to to.
func (a *auditIndex) catchUp(to uint64, stop <-chan struct{}) error {
	for {
		from := max(a.through.Load()+1, a.log.FirstSeq())
		if from > to {
			return nil
		}
		if err := a.indexBatch(from, min(to, from+auditBatch-1)); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		default:
		}
	}
}

// indexBatch indexes the entries from..end, unless a rewrite of the log
// came first (then the next batch starts from the log's first entry).
func (a *auditIndex) indexBatch(from, end uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.through.Load()+1 < from && from != a.log.FirstSeq() {
		return nil
	}
	var pairs []wal.IndexPair
	err := a.elog.Read(from, end, func(env envelope.Envelope) error {
		var err error
		pairs, err = a.pairs(env, pairs)
		return err
	})
	if err == nil {
		err = a.log.IndexEntries(a.set, pairs, end)
	}
	if err != nil {
		return err
	}
	a.through.Store(end)
	return nil
}

// auditLoop keeps the index up with the durable log until the DB stops.
func (db *DB) auditLoop() {
	defer db.bg.Done()
	tick := time.NewTicker(auditEvery)
	defer tick.Stop()
	failed := false
	for {
		if err := db.audit.catchUp(db.DurableSeq(), db.stop); err != nil && !failed {
			// Readers read the entries past the index: answers stay whole, only slower.
			db.logger.Warn("audit index: cannot index the log; lookups read the entries after seq "+fmt.Sprint(db.audit.through.Load()), "err", err)
			failed = true
		}
		select {
		case <-db.stop:
			return
		case <-tick.C:
		}
	}
}

// AuditLookup calls fn with the seqs from..to, in order, of the entries
// whose actor (name AuditActor) or declared payload field name has value:
// from the index up to the seq it covers, then by reading the entries
// after it. A name that is not indexed is an error.
func (db *DB) AuditLookup(name, value string, from, to uint64, fn func(seq uint64) error) error {
	a := db.audit
	if name != AuditActor && !slices.Contains(a.AuditFields(), name) {
		return fmt.Errorf("imago: the log is not indexed by %q (indexed: actor and the fields App.AuditFields declares: %s)", name, strings.Join(a.AuditFields(), ", "))
	}
	from = max(from, db.log.FirstSeq())
	through := a.through.Load()
	if err := db.log.IndexLookup(name, value, from, min(to, through), fn); err != nil {
		return err
	}
	if to <= through {
		return nil
	}
	// The entries the index does not cover yet.
	var pairs []wal.IndexPair
	return a.elog.Read(max(from, through+1), to, func(env envelope.Envelope) error {
		var err error
		if pairs, err = a.pairs(env, pairs[:0]); err != nil {
			return err
		}
		for _, p := range pairs {
			if p.Name == name && p.Value == value {
				return fn(env.Seq)
			}
		}
		return nil
	})
}

// AuditFields are the payload fields the log is indexed by (besides the
// actor), sorted.
func (db *DB) AuditFields() []string { return db.audit.AuditFields() }

// AuditFieldsOf are the payload fields indexed for command.
func (db *DB) AuditFieldsOf(command string) []string { return db.audit.fields[command] }

// AuditIndexedThrough is the seq the audit index covers.
func (db *DB) AuditIndexedThrough() uint64 { return db.audit.through.Load() }

// AuditIndexBytes estimates the audit index's bytes on disk.
func (db *DB) AuditIndexBytes() (uint64, error) { return db.log.IndexBytes() }
