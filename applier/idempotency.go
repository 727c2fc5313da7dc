package applier

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/memdb"
)

// Idempotency: a command submitted with a key (Meta.ID, from the
// Idempotency-Key header) is remembered in the image, in IdempotencyKeys:
// its seq, result and a hash of its name and payload. Another submission
// with the same key within the window gets the original seq and result and
// changes nothing; with another body it is a *ConflictError.
//
// The keys are part of the image, written by the writer as it applies a
// keyed command, so replay and checkpoints keep them. Expiry is by envelope
// time, never by a clock: a keyed envelope carries when its key expires (its
// time plus the window in force when it was accepted), and before a command
// is applied the keys expired at its envelope time are removed. What remains
// after seq N is therefore a function of the log up to N alone, however the
// commands were batched and whatever window a later run is given, and a
// replay rebuilds exactly the same keys.

// IdempotencyKeys is the image's table of the keys within the window. It is
// Imago's own, not an application table: checkpoints hold it, SQL shows it
// as imago.idempotency_keys.
var IdempotencyKeys = memdb.MustBind[idempotencyRecord](memdb.MustDefine(memdb.TableDef{
	Name: "idempotency_keys",
	Columns: []memdb.Column{
		{Name: "idempotency_key", Type: memdb.Varchar(commands.MaxKeyLength)},
		{Name: "seq", Type: memdb.BigIntUnsigned},
		{Name: "command", Type: memdb.Varchar(64)},
		{Name: "body_sha256", Type: memdb.Varbinary(32)},
		{Name: "result", Type: memdb.Blob},
		{Name: "accepted_at", Type: memdb.Datetime},
		{Name: "expires_at", Type: memdb.Datetime},
	},
	PrimaryKey: []string{"idempotency_key"},
	Indexes:    []memdb.IndexDef{{Name: "expires_at", Columns: []string{"expires_at"}}},
}))

// keysByExpiry is the expires_at index: expiry walks it from the first.
var keysByExpiry = IdempotencyKeys.Table().Indexes()[0]

type idempotencyRecord struct {
	Key        string    `imago:"idempotency_key"`
	Seq        uint64    `imago:"seq"`
	Command    string    `imago:"command"`
	BodySHA256 []byte    `imago:"body_sha256"`
	Result     []byte    `imago:"result"` // the result as JSON
	AcceptedAt time.Time `imago:"accepted_at"`
	ExpiresAt  time.Time `imago:"expires_at"`
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

// expireKeys removes the keys expired at now (expires_at <= now); it costs
// a count when no key is remembered.
func expireKeys(tx *memdb.Txn, now time.Time) error {
	for tx.Count(IdempotencyKeys.Table()) > 0 {
		it, err := tx.Scan(keysByExpiry, nil)
		if err != nil {
			return err
		}
		row := it.NextRow()
		if row == nil {
			return nil
		}
		rec := IdempotencyKeys.Value(row)
		if rec.ExpiresAt.After(now) {
			return nil
		}
		if err := tx.Delete(IdempotencyKeys.Table(), rec.Key); err != nil {
			return err
		}
	}
	return nil
}

// previous finds what a keyed command was already answered with: ok with
// the earlier seq and result, or a *ConflictError, or nothing (found false).
func previous(tx *memdb.Txn, env *envelope.Envelope) (seq uint64, result json.RawMessage, found bool, err error) {
	rec, found, err := IdempotencyKeys.Get(tx, env.ID)
	if err != nil || !found {
		return 0, nil, false, err
	}
	if rec.Command != env.Name || string(rec.BodySHA256) != string(bodyHash(env)) {
		return 0, nil, true, &commands.ConflictError{Key: env.ID, Seq: rec.Seq}
	}
	return rec.Seq, rec.Result, true, nil
}

// remember records a keyed command applied at env.Seq with its result
// (replacing an entry of the same key: on replay of a log written with a
// shorter window, a key may come back after its expiry there).
func remember(tx *memdb.Txn, env *envelope.Envelope, result any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("the result of %s does not encode as JSON: %w", env.Name, err)
	}
	rec := idempotencyRecord{Key: env.ID, Seq: env.Seq, Command: env.Name, BodySHA256: bodyHash(env), Result: b, AcceptedAt: env.Time, ExpiresAt: env.KeyExpires}
	_, found, err := IdempotencyKeys.Get(tx, env.ID)
	switch {
	case err != nil:
		return err
	case found:
		return IdempotencyKeys.Update(tx, rec)
	}
	return IdempotencyKeys.Insert(tx, rec)
}
