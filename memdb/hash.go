package memdb

import (
	"crypto/sha256"
	"encoding/binary"
)

// Hash is a digest of a snapshot's content: every table's name, count and
// rows in primary-key order. Two images hold the same state exactly when their
// hashes are equal; the replay invariant is checked with it.
func (s *Snapshot) Hash() ([32]byte, error) {
	h := sha256.New()
	var buf []byte
	for _, t := range s.im.tables {
		buf = appendEscaped(buf[:0], t.Name())
		buf = binary.BigEndian.AppendUint64(buf, uint64(s.Count(t)))
		h.Write(buf)
		it, err := s.Scan(t.primary, nil)
		if err != nil {
			return [32]byte{}, err
		}
		for row := it.NextRow(); row != nil; row = it.NextRow() {
			buf = buf[:0]
			for i, c := range t.def.Columns {
				buf = appendHashValue(buf, c.Type.Kind, row[i])
			}
			h.Write(buf)
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
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
