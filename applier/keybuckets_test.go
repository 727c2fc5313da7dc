package applier

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/imagodb/imago/memdb"
)

// TestKeyBucketsAgainstAModel remembers, replaces and expires thousands of
// keys, batch by batch as the writer does (keyExpiry skipping the scans
// it can), and checks after each batch that
// the buckets hold exactly what a map of the same keys holds: every key
// found with its record, each in the bucket of its hash, buckets split
// within maxBucketKeys, empty ones gone, each bucket's min_expires_at its
// records' earliest.
func TestKeyBucketsAgainstAModel(t *testing.T) {
	im, err := memdb.NewImage(IdempotencyKeys)
	if err != nil {
		t.Fatal(err)
	}
	model := map[string]keyRecord{}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	seq := uint64(0)
	for batch := range 300 {
		tx := im.Txn()
		expiry := &keyExpiry{}
		for range 1 + rng.IntN(40) {
			now = now.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
			if err := expiry.expire(tx, now); err != nil {
				t.Fatal(err)
			}
			for k, r := range model {
				if !r.ExpiresAt.After(now) {
					delete(model, k)
				}
			}
			seq++
			// Keys of 20-40 characters; some come back (a replay of a log
			// written with a shorter window).
			key := fmt.Sprintf("order-%0*d", 14+rng.IntN(26), rng.IntN(3000))
			rec := keyRecord{Key: key, Seq: seq, Command: "place_order", BodySHA256: make([]byte, 32),
				Result: []byte(fmt.Sprintf(`{"order_id":%d}`, seq)), AcceptedAt: now,
				ExpiresAt: now.Add(time.Duration(1+rng.IntN(60)) * time.Second)}
			rec.BodySHA256[0] = byte(seq)
			if err := insertKey(tx, rec); err != nil {
				t.Fatal(err)
			}
			expiry.remembered(rec.ExpiresAt)
			model[key] = rec
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		checkBuckets(t, im.Snapshot(), model, batch)
	}
}

func checkBuckets(t *testing.T, snap *memdb.Snapshot, model map[string]keyRecord, batch int) {
	t.Helper()
	it, err := snap.Scan(IdempotencyKeys.Primary(), nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	low := uint64(0)
	first := true
	for row := it.NextRow(); row != nil; row = it.NextRow() {
		high := row[bucketHigh].(uint64)
		views, err := parseAll(row[bucketKeys].([]byte))
		if err != nil || len(views) == 0 || len(views) > maxBucketKeys {
			t.Fatalf("batch %d: bucket %x holds %d keys (%v)", batch, high, len(views), err)
		}
		earliest := int64(math.MaxInt64)
		for _, v := range views {
			rec := v.record()
			if h := keyHash(rec.Key); h > high || (!first && h <= low) {
				t.Fatalf("batch %d: key %s of hash %x in bucket (%x, %x]", batch, rec.Key, h, low, high)
			}
			if want, ok := model[rec.Key]; !ok || !reflect.DeepEqual(rec, want) || seen[rec.Key] {
				t.Fatalf("batch %d: bucket holds %+v; the model %+v (%v), seen before %v", batch, rec, want, ok, seen[rec.Key])
			}
			seen[rec.Key] = true
			earliest = min(earliest, v.expires)
		}
		if got := row[bucketMinExpiry].(time.Time); got.UnixNano() != earliest {
			t.Fatalf("batch %d: bucket %x min_expires_at %v, its earliest key expires %v", batch, high, got, time.Unix(0, earliest))
		}
		low, first = high, false
	}
	if len(seen) != len(model) {
		t.Fatalf("batch %d: the buckets hold %d keys, the model %d", batch, len(seen), len(model))
	}
}

// FuzzParseBucket: a bucket's bytes (from a checkpoint) never panic the
// parser; what parses encodes to bytes that parse to the same records.
func FuzzParseBucket(f *testing.F) {
	rec := keyRecord{Key: "k", Seq: 7, Command: "set", BodySHA256: make([]byte, 32), Result: []byte("{}"),
		AcceptedAt: time.Unix(100, 5), ExpiresAt: time.Unix(200, 0)}
	f.Add(appendRecord(nil, &rec))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		views, err := parseAll(b)
		if err != nil {
			return
		}
		var again []byte
		var recs []keyRecord
		for _, v := range views {
			r := v.record()
			recs, again = append(recs, r), appendRecord(again, &r)
		}
		views, err = parseAll(again)
		if err != nil || len(views) != len(recs) {
			t.Fatalf("%x parses; its records encoded as %x do not (%v)", b, again, err)
		}
		for i, v := range views {
			if r := v.record(); !reflect.DeepEqual(r, recs[i]) {
				t.Fatalf("record %d: %+v, encoded and parsed again %+v", i, recs[i], r)
			}
		}
	})
}
