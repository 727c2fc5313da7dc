package applier

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/imagodb/imago/memdb"
)

// The remembered keys are packed into buckets: a bucket is one row holding
// the keys whose hash (keyHash) is at most its hash_high and above the
// previous bucket's, encoded one after another in its keys column, in the
// order they were remembered. A lookup finds the bucket by a scan of the
// primary key from the key's hash and reads its bytes without decoding the
// other keys; remembering a key rewrites the bucket; a bucket past
// maxBucketKeys splits at its median hash; a bucket emptied by expiry is
// removed (the next bucket's range takes its hashes). The layout is a
// function of the log alone, as the keys are: replay rebuilds the same
// bytes.
//
// Measured (BenchmarkIdempotencyKeyMemory in the root package, 30-character
// keys): 166 heap bytes per key after a restart, against 1,340 for a row per
// key; a keyed command's apply costs 80-85 µs of CPU against 65-73 before
// (BenchmarkKeyedApply on the shared machine: the bucket it rewrites, and
// the one expiry rewrites).

// maxBucketKeys is where a bucket splits: a bucket holds 16 to 32 keys,
// so its row and two index entries (~1 KB in go-memdb) cost a few dozen
// bytes per key, and rewriting one on each keyed command copies ~3 KB.
const maxBucketKeys = 32

// IdempotencyKeys is the image's table of the keys within the window,
// packed (see above). It is Imago's own, not an application table:
// checkpoints hold it, SQL shows its keys unpacked as
// imago.idempotency_keys (IdempotencyKeyColumns, UnpackIdempotencyKeys).
var IdempotencyKeys = memdb.MustDefine(memdb.TableDef{
	Name: "idempotency_key_buckets",
	Columns: []memdb.Column{
		{Name: "hash_high", Type: memdb.BigIntUnsigned},
		{Name: "min_expires_at", Type: memdb.Datetime},
		{Name: "key_count", Type: memdb.Int},
		{Name: "idempotency_keys", Type: memdb.Blob},
	},
	PrimaryKey: []string{"hash_high"},
	Indexes:    []memdb.IndexDef{{Name: "min_expires_at", Columns: []string{"min_expires_at"}}},
})

// Columns of a bucket row.
const (
	bucketHigh = iota
	bucketMinExpiry
	bucketCount
	bucketKeys
)

// bucketsByExpiry is the min_expires_at index: expiry walks it from the
// first.
var bucketsByExpiry = IdempotencyKeys.Indexes()[0]

// bucket is a bucket row being read or rewritten.
type bucket struct {
	high    uint64
	keys    []byte // the packed records
	present bool   // the row exists in the image

	// Of a bucket being rewritten (add): its records, and when the first
	// expires (Unix nanoseconds).
	n        int
	earliest int64
}

// newBucket is an empty bucket to rewrite the one of hash_high high into
// (present: that row exists), with room for size bytes of records.
func newBucket(high uint64, present bool, size int) *bucket {
	return &bucket{high: high, present: present, keys: make([]byte, 0, size), earliest: math.MaxInt64}
}

// add appends a record to a bucket being rewritten.
func (b *bucket) add(raw []byte, expires int64) {
	b.keys = append(b.keys, raw...)
	b.n++
	b.earliest = min(b.earliest, expires)
}

// bucketOf is the bucket that holds (or would hold) a key of hash h; nil
// when there is none at or above h.
func bucketOf(tx *memdb.Txn, h uint64) (*bucket, error) {
	from, err := IdempotencyKeys.Primary().KeyPrefix(h)
	if err != nil {
		return nil, err
	}
	it, err := tx.Scan(IdempotencyKeys.Primary(), from)
	if err != nil {
		return nil, err
	}
	row := it.NextRow()
	if row == nil {
		return nil, nil
	}
	return &bucket{high: row[bucketHigh].(uint64), keys: row[bucketKeys].([]byte), present: true}, nil
}

// find is the record of key in the bucket.
func (b *bucket) find(key string) (rec keyView, found bool, err error) {
	for rest := b.keys; len(rest) > 0; {
		if rec, rest, err = parseRecord(rest); err != nil {
			return keyView{}, false, err
		}
		if string(rec.key) == key {
			return rec, true, nil
		}
	}
	return keyView{}, false, nil
}

// insertKey remembers rec, replacing a record of the same key.
func insertKey(tx *memdb.Txn, rec keyRecord) error {
	old, err := bucketOf(tx, keyHash(rec.Key))
	if err != nil {
		return err
	}
	if old == nil { // above every bucket: the last one covers the rest
		old = &bucket{high: math.MaxUint64}
	}
	encoded := appendRecord(nil, &rec)
	b := newBucket(old.high, old.present, len(old.keys)+len(encoded))
	for rest := old.keys; len(rest) > 0; {
		var r keyView
		if r, rest, err = parseRecord(rest); err != nil {
			return err
		}
		if string(r.key) != rec.Key {
			b.add(r.raw, r.expires)
		}
	}
	b.add(encoded, rec.ExpiresAt.UnixNano())
	return b.store(tx)
}

// store writes a rewritten bucket back: removed when empty, split when
// full.
func (b *bucket) store(tx *memdb.Txn) error {
	switch {
	case b.n == 0 && b.present:
		return tx.Delete(IdempotencyKeys, b.high)
	case b.n == 0:
		return nil
	case b.n > maxBucketKeys:
		low, high, ok, err := b.split()
		if err != nil {
			return err
		}
		if ok {
			if err := low.store(tx); err != nil {
				return err
			}
			b = high
		}
	}
	row := memdb.Row{b.high, time.Unix(0, b.earliest).UTC(), int32(b.n), b.keys}
	if b.present {
		return tx.Update(IdempotencyKeys, row)
	}
	return tx.Insert(IdempotencyKeys, row)
}

// split divides a full bucket at its median hash: the records of hash at
// most the median go to a new bucket below (ok false when every record has
// the same hash: nothing to split on).
func (b *bucket) split() (low, high *bucket, ok bool, err error) {
	views, err := parseAll(b.keys)
	if err != nil {
		return nil, nil, false, err
	}
	hashes := make([]uint64, len(views))
	for i, v := range views {
		hashes[i] = keyHash(string(v.key))
	}
	sorted := slices.Clone(hashes)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2-1]
	if median == sorted[len(sorted)-1] {
		i, _ := slices.BinarySearch(sorted, median)
		if i == 0 {
			return nil, nil, false, nil
		}
		median = sorted[i-1]
	}
	low, high = newBucket(median, false, len(b.keys)/2), newBucket(b.high, b.present, len(b.keys)/2)
	for i, v := range views {
		if hashes[i] <= median {
			low.add(v.raw, v.expires)
		} else {
			high.add(v.raw, v.expires)
		}
	}
	return low, high, true, nil
}

// keyView is a record read in place from a bucket's bytes.
type keyView struct {
	raw               []byte // the whole record
	key, command      []byte
	seq               uint64
	bodySHA256        []byte
	result            []byte
	accepted, expires int64 // Unix nanoseconds
}

// record is the view as a keyRecord; its byte slices alias the bucket's
// bytes, which are never modified.
func (v keyView) record() keyRecord {
	return keyRecord{Key: string(v.key), Seq: v.seq, Command: string(v.command), BodySHA256: v.bodySHA256,
		Result: v.result, AcceptedAt: time.Unix(0, v.accepted).UTC(), ExpiresAt: time.Unix(0, v.expires).UTC()}
}

// appendRecord encodes a record: the key, seq, body hash, command, result,
// time accepted and time its key expires (the last two in Unix
// nanoseconds; expiry as the difference).
func appendRecord(dst []byte, r *keyRecord) []byte {
	dst = appendBytes(dst, []byte(r.Key))
	dst = binary.AppendUvarint(dst, r.Seq)
	dst = appendBytes(dst, r.BodySHA256)
	dst = appendBytes(dst, []byte(r.Command))
	dst = appendBytes(dst, r.Result)
	accepted := r.AcceptedAt.UnixNano()
	dst = binary.AppendVarint(dst, accepted)
	return binary.AppendVarint(dst, r.ExpiresAt.UnixNano()-accepted)
}

func appendBytes(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

// errDamagedBucket is a bucket whose bytes do not parse: only a bug or a
// damaged checkpoint that passed its checksum can make one.
var errDamagedBucket = errors.New("applier: an idempotency key bucket does not parse")

// parseRecord reads the record at the start of b.
func parseRecord(b []byte) (v keyView, rest []byte, err error) {
	p := recordParser{b: b}
	v.key = p.bytes()
	v.seq = p.uvarint()
	v.bodySHA256 = p.bytes()
	v.command = p.bytes()
	v.result = p.bytes()
	v.accepted = p.varint()
	v.expires = v.accepted + p.varint()
	if p.bad {
		return keyView{}, nil, errDamagedBucket
	}
	v.raw = b[:p.n]
	return v, b[p.n:], nil
}

// parseAll reads every record of a bucket.
func parseAll(b []byte) ([]keyView, error) {
	var views []keyView
	for len(b) > 0 {
		v, rest, err := parseRecord(b)
		if err != nil {
			return nil, err
		}
		views, b = append(views, v), rest
	}
	return views, nil
}

// recordParser reads varints and length-prefixed bytes, remembering a
// failure instead of returning one at each step.
type recordParser struct {
	b   []byte
	n   int
	bad bool
}

func (p *recordParser) uvarint() uint64 {
	v, k := binary.Uvarint(p.b[p.n:])
	if k <= 0 {
		p.bad, k = true, 0
	}
	p.n += k
	return v
}

func (p *recordParser) varint() int64 {
	v, k := binary.Varint(p.b[p.n:])
	if k <= 0 {
		p.bad, k = true, 0
	}
	p.n += k
	return v
}

func (p *recordParser) bytes() []byte {
	n := p.uvarint()
	if p.bad || n > uint64(len(p.b)-p.n) {
		p.bad = true
		return nil
	}
	b := p.b[p.n : p.n+int(n) : p.n+int(n)]
	p.n += int(n)
	return b
}

// UnpackIdempotencyKeys is the keys of one row of IdempotencyKeys as rows
// of IdempotencyKeyColumns, for SQL.
func UnpackIdempotencyKeys(row memdb.Row) ([]memdb.Row, error) {
	views, err := parseAll(row[bucketKeys].([]byte))
	if err != nil {
		return nil, err
	}
	rows := make([]memdb.Row, len(views))
	for i, v := range views {
		rec := v.record()
		rows[i] = rec.row()
	}
	return rows, nil
}

// KeysHeld is what the remembered keys hold in a state: their number and
// the bytes of their packed records (a scan of the buckets' counts, one
// row per 16 to 32 keys).
func KeysHeld(r memdb.Reader) (keys, bytes int64, err error) {
	it, err := r.Scan(IdempotencyKeys.Primary(), nil)
	if err != nil {
		return 0, 0, err
	}
	for row := it.NextRow(); row != nil; row = it.NextRow() {
		keys += int64(row[bucketCount].(int32))
		bytes += int64(len(row[bucketKeys].([]byte)))
	}
	return keys, bytes, nil
}
