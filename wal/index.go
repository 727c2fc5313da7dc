package wal

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Indexes over the log: (name, value) pairs of entries (the actor, fields
// of a payload) kept under their own prefix, each key naming one entry's
// seq, so that the entries with a value are found without reading the
// log. The log does not know what an entry holds: its reader (the root's
// audit index) computes the pairs and writes them with IndexEntries,
// beside the entries and after them, with the seq they are indexed
// through in the same batch; a crash that loses a batch loses both, and
// the reader indexes those entries again.
//
// Key: 0x04 + uvarint len(name) + name + the first 16 bytes of the
// value's SHA-256 + big-endian uint64 seq; no value. The value is hashed,
// not stored: lookups are by equality, and a key holding a value would
// keep it on the disk after a redaction, in the MANIFEST, which records
// the first and last key of every table (TestRewriteDropsIndexes found
// one there).

const prefixIndex byte = 0x04

// metaIndexed + the set's name names the metadata entry holding the seq
// the set of pairs covers.
const metaIndexed = "indexed:"

// dropIndexes deletes, in b, every index pair and every set's seq: a
// rewrite of entries (Replace) makes them stale.
func dropIndexes(b *pebble.Batch) error {
	if err := b.DeleteRange([]byte{prefixIndex}, []byte{prefixIndex + 1}, nil); err != nil {
		return err
	}
	// ';' follows ':': the range holds every "indexed:<set>" key.
	return b.DeleteRange(metaKey(metaIndexed), metaKey("indexed;"), nil)
}

// IndexPair is one (name, value) of the entry at Seq.
type IndexPair struct {
	Seq         uint64
	Name, Value string
}

func indexPrefix(name, value string) []byte {
	k := []byte{prefixIndex}
	k = binary.AppendUvarint(k, uint64(len(name)))
	k = append(k, name...)
	sum := sha256.Sum256([]byte(value))
	return append(k, sum[:16]...)
}

// IndexEntries stores pairs and records that the entries up to through are
// indexed for set (what the reader indexes: another declaration is another
// set, built from the start), in one batch (not synced: see above).
// Storing a pair again changes nothing.
func (l *Log) IndexEntries(set string, pairs []IndexPair, through uint64) error {
	if l.readOnly {
		return errors.New("wal: index: the log is open read-only")
	}
	if l.failed.Load() {
		return ErrFailed
	}
	b := l.db.NewBatch()
	defer b.Close()
	for _, p := range pairs {
		if err := b.Set(binary.BigEndian.AppendUint64(indexPrefix(p.Name, p.Value), p.Seq), nil, nil); err != nil {
			return fmt.Errorf("wal: index: %w", err)
		}
	}
	if err := b.Set(metaKey(metaIndexed+set), binary.BigEndian.AppendUint64(nil, through), nil); err != nil {
		return fmt.Errorf("wal: index: %w", err)
	}
	return l.commit(b, false)
}

// IndexedThrough is the seq set covers (0: none).
func (l *Log) IndexedThrough(set string) (uint64, error) {
	v, closer, err := l.db.Get(metaKey(metaIndexed + set))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("wal: read the index's seq: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("wal: the index's seq is malformed (%d bytes)", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// IndexLookup calls fn with the seqs from..to, in order, of the entries
// indexed with (name, value).
func (l *Log) IndexLookup(name, value string, from, to uint64, fn func(seq uint64) error) error {
	if from > to {
		return nil
	}
	prefix := indexPrefix(name, value)
	lower := binary.BigEndian.AppendUint64(prefix[:len(prefix):len(prefix)], from)
	upper := binary.BigEndian.AppendUint64(prefix[:len(prefix):len(prefix)], to)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: append(upper, 0)})
	if err != nil {
		return fmt.Errorf("wal: index lookup: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if err := fn(binary.BigEndian.Uint64(k[len(k)-8:])); err != nil {
			return err
		}
	}
	return it.Error()
}

// IndexBytes estimates the index's bytes on disk (compressed, in tables).
func (l *Log) IndexBytes() (uint64, error) {
	return l.db.EstimateDiskUsage([]byte{prefixIndex}, []byte{prefixIndex + 1})
}
