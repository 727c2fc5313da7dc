package wal

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// UnreadableError reports an entry that could not be read: a block whose
// checksum does not match, a missing file, a missing key (a gap). Seq is the
// first entry the read could not reach; the damage may extend over later
// entries (see Check).
type UnreadableError struct {
	Seq uint64
	Err error
}

func (e *UnreadableError) Error() string {
	return fmt.Sprintf("entry %d is unreadable: %s", e.Seq, firstLine(e.Err))
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// firstLine is an error's message without the detail lines Pebble's errors
// add when formatted.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// Damage is a run of entries that could not be read: From..To inclusive are
// unreadable (at least From; Pebble fails a whole block at once, so the run
// is usually one block's entries).
type Damage struct {
	From, To uint64
	Err      error // what the read of From met
}

// Check reads every entry from 1 to LastSeq in order, calling fn with each
// readable one, and steps over damage instead of stopping at it: the runs of
// entries it could not read are returned. A gap (a missing key where
// contiguous seqs were written) is damage too. An error from fn ends the
// check and is returned.
func (l *Log) Check(fn func(Entry) error) ([]Damage, error) {
	var damage []Damage
	last := l.LastSeq()
	for from := l.FirstSeq(); from <= last; {
		next, err := l.readUntilDamage(from, last, fn)
		if err != nil {
			return damage, err
		}
		if next.From == 0 {
			break
		}
		next.To = l.damageEnd(next.From, last)
		damage = append(damage, next)
		from = next.To + 1
	}
	return damage, nil
}

// readUntilDamage reads entries from..last through fn and returns the first
// damage found (From 0 if none) or fn's error.
func (l *Log) readUntilDamage(from, last uint64, fn func(Entry) error) (Damage, error) {
	it, err := l.Iter(from, last)
	if err != nil {
		return Damage{}, err
	}
	defer it.Close()
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if err := fn(e); err != nil {
			return Damage{}, err
		}
	}
	var unreadable *UnreadableError
	if errors.As(it.Err(), &unreadable) {
		return Damage{From: unreadable.Seq, Err: errors.New(firstLine(unreadable.Err))}, nil
	}
	return Damage{}, it.Err()
}

// damageEnd returns the last unreadable seq of the run starting at bad:
// it gallops forward to a readable seq (or past last), then bisects back to
// the boundary. Readability is per block, so within one damaged block every
// probe fails and the first readable seq after it is found in O(log n) reads.
func (l *Log) damageEnd(bad, last uint64) uint64 {
	step := uint64(1)
	good := last + 1
	for probe := bad + 1; probe <= last; probe = bad + step {
		if l.readable(probe) {
			good = probe
			break
		}
		bad, step = probe, step*2
	}
	for good-bad > 1 {
		mid := bad + (good-bad)/2
		if l.readable(mid) {
			good = mid
		} else {
			bad = mid
		}
	}
	return good - 1
}

// readable tells whether the entry at seq can be read.
func (l *Log) readable(seq uint64) bool {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: entryKey(seq), UpperBound: entryKey(seq + 1)})
	if err != nil {
		return false
	}
	ok := it.First()
	if ok {
		_, err = it.ValueAndErr()
		ok = err == nil
	}
	return it.Close() == nil && ok
}
