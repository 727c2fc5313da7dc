package memdb

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// Hash is a digest of a snapshot's content: every table's name, count and
// rows in primary-key order. Two images hold the same state exactly when their
// hashes are equal; the replay invariant is checked with it.
func (s *Snapshot) Hash() ([32]byte, error) {
	x := NewHasher()
	for _, t := range s.im.tables {
		x.Table(t, s.Count(t))
		it, err := s.Scan(t.primary, nil)
		if err != nil {
			return [32]byte{}, err
		}
		for row := it.NextRow(); row != nil; row = it.NextRow() {
			x.Row(t, row)
		}
	}
	return x.Sum(), nil
}

// Hasher computes Snapshot.Hash from the tables and rows given to it in
// the snapshot's order (its tables in order, each table's rows in primary
// key order): a checkpoint writer, which visits them anyway, gets the hash
// without a second pass.
type Hasher struct {
	h   hash.Hash
	buf []byte
}

// NewHasher starts a hash.
func NewHasher() *Hasher { return &Hasher{h: sha256.New()} }

// Table starts table t, which holds count rows.
func (x *Hasher) Table(t *Table, count int64) {
	x.buf = appendEscaped(x.buf[:0], t.Name())
	x.buf = binary.BigEndian.AppendUint64(x.buf, uint64(count))
	x.h.Write(x.buf)
}

// Row adds a row of the current table t.
func (x *Hasher) Row(t *Table, row Row) {
	x.buf = x.buf[:0]
	for i, c := range t.def.Columns {
		x.buf = appendHashValue(x.buf, c.Type.Kind, row[i])
	}
	x.h.Write(x.buf)
}

// Sum is the hash of what was given.
func (x *Hasher) Sum() [32]byte {
	var sum [32]byte
	x.h.Sum(sum[:0])
	return sum
}

// appendHashValue appends an encoding that identifies v, a value of kind
// k: its key encoding, or the kind's own where it has no key.
func appendHashValue(dst []byte, k Kind, v any) []byte {
	if info := k.info(); v != nil && info.hash != nil {
		return info.hash(append(dst, tagPresent), v)
	}
	dst, _ = appendKey(dst, k, v)
	return dst
}
