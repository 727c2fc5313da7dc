package envelope

import (
	"errors"
	"fmt"
	"iter"
	"time"
)

// Values is a log of encoded envelopes by seq, as the command log (wal.Log)
// stores them. It is defined here, by its consumer, in plain types: readers
// of envelopes need not know the log's storage.
type Values interface {
	// FirstSeq is the first seq held (1 unless the log was truncated).
	FirstSeq() uint64
	// ReadValues calls fn with each value of from <= seq <= to, in order.
	ReadValues(from, to uint64, fn func(seq uint64, value []byte) error) error
}

// Log reads envelopes from a log of encoded values: the decode step every
// reader of the command log shares.
type Log struct {
	values   Values
	upcaster Upcaster // nil: envelopes as stored
}

// NewLog reads the envelopes of values.
func NewLog(values Values) *Log { return &Log{values: values} }

// FirstSeq is the first seq the log holds.
func (l *Log) FirstSeq() uint64 { return l.values.FirstSeq() }

// Read calls fn with each envelope of from <= seq <= to, in order, upcast
// by the log's upcaster (WithUpcaster); entries it retires are skipped. An
// entry that does not decode ends the read with its error, which names its
// seq.
func (l *Log) Read(from, to uint64, fn func(Envelope) error) error {
	return l.values.ReadValues(from, to, func(seq uint64, value []byte) error {
		env, err := Decode(seq, value)
		if err != nil {
			return err
		}
		if keep, err := l.upcast(&env); err != nil || !keep {
			return err
		}
		return fn(env)
	})
}

// errStopped ends a read whose consumer stopped early.
var errStopped = errors.New("envelope: iteration stopped")

// Iterator pulls the envelopes of a seq range one at a time (an SQL row
// iterator, a stream): Next until false, then Err; Close releases the log's
// iterator and may be called at any time.
type Iterator struct {
	next func() (Envelope, error, bool)
	stop func()
	err  error
}

// Iter iterates the envelopes of from <= seq <= to, those the upcaster
// retired included (ReadAll).
func (l *Log) Iter(from, to uint64) *Iterator {
	seq := func(yield func(Envelope, error) bool) {
		err := l.ReadAll(from, to, func(env Envelope) error {
			if !yield(env, nil) {
				return errStopped
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopped) {
			yield(Envelope{}, err)
		}
	}
	next, stop := iter.Pull2(seq)
	return &Iterator{next: next, stop: stop}
}

// Next returns the next envelope, or false at the end or on an error.
func (it *Iterator) Next() (Envelope, bool) {
	if it.err != nil {
		return Envelope{}, false
	}
	env, err, ok := it.next()
	if !ok {
		return Envelope{}, false
	}
	if err != nil {
		it.err = err
		return Envelope{}, false
	}
	return env, true
}

// Err is the error that ended the iteration, if any.
func (it *Iterator) Err() error { return it.err }

// Close ends the iteration.
func (it *Iterator) Close() error {
	it.stop()
	return nil
}

// Stats summarise a command log: `imago log stats`, GET /v1/log/stats.
type Stats struct {
	Entries   uint64            `json:"entries"`
	FirstSeq  uint64            `json:"first_seq"`
	LastSeq   uint64            `json:"last_seq"`
	FirstTime time.Time         `json:"first_time,omitzero"`
	LastTime  time.Time         `json:"last_time,omitzero"`
	Bytes     uint64            `json:"bytes"`      // the entries' encoded envelopes
	DiskBytes uint64            `json:"disk_bytes"` // the log's files, compressed, with the store's own overhead
	ByName    map[string]uint64 `json:"commands"`   // entries by command name
	// Versions are the entries by command name and version, as stored.
	Versions map[string]map[uint32]uint64 `json:"versions"`
}

// Stats reads the entries up to seq to and summarises them; diskBytes is
// what the log's files take, as its store reports it.
func (l *Log) Stats(to, diskBytes uint64) (Stats, error) {
	st := Stats{ByName: map[string]uint64{}, Versions: map[string]map[uint32]uint64{}, DiskBytes: diskBytes}
	err := l.values.ReadValues(l.FirstSeq(), to, func(seq uint64, value []byte) error {
		env, err := Decode(seq, value)
		if err != nil {
			return err
		}
		if st.Entries == 0 {
			st.FirstSeq, st.FirstTime = env.Seq, env.Time
		}
		st.Entries++
		st.LastSeq, st.LastTime = env.Seq, env.Time
		st.Bytes += uint64(len(value))
		st.ByName[env.Name]++
		if st.Versions[env.Name] == nil {
			st.Versions[env.Name] = map[uint32]uint64{}
		}
		st.Versions[env.Name][env.Version]++
		return nil
	})
	return st, err
}

// TimeOf is the time the entry at seq was accepted; an absent entry is an
// error naming its seq.
func (l *Log) TimeOf(seq uint64) (time.Time, error) {
	var at time.Time
	found := false
	err := l.values.ReadValues(seq, seq, func(seq uint64, value []byte) error {
		env, err := Decode(seq, value)
		at, found = env.Time, true
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("envelope: the log has no entry at seq %d", seq)
	}
	return at, err
}

// LastAt is the last seq of FirstSeq()..to whose entry was accepted at or
// before t, FirstSeq()-1 when none was: a binary search (about log2(n)
// reads), as entries' times never decrease with seq (the writer stamps
// them so).
func (l *Log) LastAt(t time.Time, to uint64) (uint64, error) {
	// Invariant: time(lo) <= t < time(hi), with lo = first-1 and hi = to+1
	// standing for the times before and after the log.
	lo, hi := l.FirstSeq()-1, to+1
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		tm, err := l.TimeOf(mid)
		if err != nil {
			return 0, err
		}
		if tm.After(t) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo, nil
}
