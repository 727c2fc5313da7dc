package applier

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// Idempotency: a command submitted with a key (Meta.ID, from the
// Idempotency-Key header) is remembered in the image: its seq, result and a
// hash of its name and payload. Another submission with the same key within
// the window gets the original seq and result and changes nothing; with
// another body it is a *ConflictError.
//
// The keys are part of the image, written by the writer as it applies a
// keyed command, so replay and checkpoints keep them. Expiry is by envelope
// time, never by a clock: a keyed envelope carries when its key expires (its
// time plus the window in force when it was accepted), and before a command
// is applied the keys expired at its envelope time are removed. What remains
// after seq N is therefore a function of the log up to N alone, however the
// commands were batched and whatever window a later run is given, and a
// replay rebuilds exactly the same keys.
//
// Keys are held packed, many to a row (keybuckets.go): a row and its index
// entries per key cost 1,280 heap bytes in go-memdb (two index entries of
// ~380 bytes, seven boxed values), which at a keyed write rate of 1,000/s
// and a 24 h window is 110 GB; packed, a key costs about its own bytes.

// keyRecord is one remembered key.
type keyRecord struct {
	Key        string
	Seq        uint64
	Command    string
	BodySHA256 []byte // 32 bytes
	Result     []byte // the result as JSON
	AcceptedAt time.Time
	ExpiresAt  time.Time
}

// IdempotencyKeyColumns are the columns of a remembered key as SQL shows
// them (imago.idempotency_keys; UnpackIdempotencyKeys gives the rows).
var IdempotencyKeyColumns = []memdb.Column{
	{Name: "idempotency_key", Type: memdb.Varchar(commands.MaxKeyLength)},
	{Name: "seq", Type: memdb.BigIntUnsigned},
	{Name: "command", Type: memdb.Varchar(64)},
	{Name: "body_sha256", Type: memdb.Varbinary(32)},
	{Name: "result", Type: memdb.Blob},
	{Name: "accepted_at", Type: memdb.Datetime},
	{Name: "expires_at", Type: memdb.Datetime},
}

// row is the key as a row of IdempotencyKeyColumns.
func (r *keyRecord) row() memdb.Row {
	return memdb.Row{r.Key, r.Seq, r.Command, r.BodySHA256, r.Result, r.AcceptedAt, r.ExpiresAt}
}

// bodyHash identifies what a keyed command asked for: its name and payload
// (the deterministic CBOR of its fields, so JSON spacing or field order does
// not matter).
func bodyHash(env *envelope.Envelope) []byte {
	h := sha256.New()
	h.Write([]byte(env.Name))
	h.Write([]byte{0})
	h.Write(env.Payload)
	return h.Sum(nil)
}

// keyExpiry expires the keys within one transaction, knowing when the
// first remembered key expires: a command before then costs a comparison,
// not a scan of the expiry index (an iterator over go-memdb and the
// transaction's writes at each command).
type keyExpiry struct {
	known bool
	next  int64 // Unix nanoseconds when the first key expires; MaxInt64: no key
}

// expire removes the keys expired at now (expires_at <= now).
func (x *keyExpiry) expire(tx *memdb.Txn, now time.Time) error {
	if x.known && now.UnixNano() < x.next {
		return nil
	}
	next, err := expireKeys(tx, now)
	x.known, x.next = err == nil, next
	return err
}

// remembered notes a key remembered in the transaction.
func (x *keyExpiry) remembered(expires time.Time) {
	x.next = min(x.next, expires.UnixNano())
}

// expireKeys removes the keys expired at now (expires_at <= now) and says
// when the first key left expires (MaxInt64: none is left).
func expireKeys(tx *memdb.Txn, now time.Time) (next int64, err error) {
	for tx.Count(IdempotencyKeys) > 0 {
		it, err := tx.Scan(bucketsByExpiry, nil)
		if err != nil {
			return 0, err
		}
		row := it.NextRow()
		if row == nil {
			break
		}
		if first := row[bucketMinExpiry].(time.Time); first.After(now) {
			return first.UnixNano(), nil
		}
		keys := row[bucketKeys].([]byte)
		b := newBucket(row[bucketHigh].(uint64), true, len(keys))
		for rest := keys; len(rest) > 0; {
			var v keyView
			if v, rest, err = parseRecord(rest); err != nil {
				return 0, err
			}
			if v.expires > now.UnixNano() {
				b.add(v.raw, v.expires)
			}
		}
		if err := b.store(tx); err != nil {
			return 0, err
		}
	}
	return math.MaxInt64, nil
}

// previous finds what a keyed command was already answered with: ok with
// the earlier seq and result, or a *ConflictError, or nothing (found false).
func previous(tx *memdb.Txn, env *envelope.Envelope) (seq uint64, result json.RawMessage, found bool, err error) {
	b, err := bucketOf(tx, keyHash(env.ID))
	if err != nil || b == nil {
		return 0, nil, false, err
	}
	rec, found, err := b.find(env.ID)
	if err != nil || !found {
		return 0, nil, false, err
	}
	if string(rec.command) != env.Name || !bytes.Equal(rec.bodySHA256, bodyHash(env)) {
		return 0, nil, true, &commands.ConflictError{Key: env.ID, Seq: rec.seq}
	}
	return rec.seq, rec.result, true, nil
}

// remember records a keyed command applied at env.Seq with its result
// (replacing an entry of the same key: on replay of a log written with a
// shorter window, a key may come back after its expiry there).
func remember(tx *memdb.Txn, env *envelope.Envelope, result any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("the result of %s does not encode as JSON: %w", env.Name, err)
	}
	rec := keyRecord{Key: env.ID, Seq: env.Seq, Command: env.Name, BodySHA256: bodyHash(env), Result: b,
		AcceptedAt: env.Time, ExpiresAt: env.KeyExpires}
	return insertKey(tx, rec)
}

// keyHash places a key among the buckets: the first 8 bytes of its
// SHA-256, so that keys spread evenly whatever clients choose.
func keyHash(key string) uint64 {
	sum := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint64(sum[:8])
}
