package commands

import (
	"time"

	"github.com/imagodb/imago/wal"
)

// LogStats summarise a command log: `imago log stats`, GET /v1/log/stats.
type LogStats struct {
	Entries   uint64            `json:"entries"`
	FirstSeq  uint64            `json:"first_seq"`
	LastSeq   uint64            `json:"last_seq"`
	FirstTime time.Time         `json:"first_time,omitzero"`
	LastTime  time.Time         `json:"last_time,omitzero"`
	Bytes     uint64            `json:"bytes"`      // the entries' encoded envelopes
	DiskBytes uint64            `json:"disk_bytes"` // the log's files, compressed, with Pebble's own overhead
	ByName    map[string]uint64 `json:"commands"`   // entries by command name
}

// ReadEnvelopes calls fn with each envelope of log with from <= seq <= to, in
// order. An entry that does not decode ends the read with its error.
func ReadEnvelopes(log *wal.Log, from, to uint64, fn func(Envelope) error) error {
	return log.Read(from, to, func(e wal.Entry) error {
		env, err := DecodeEnvelope(e.Seq, e.Data)
		if err != nil {
			return err
		}
		return fn(env)
	})
}

// ReadLogStats reads the entries of log up to seq to and summarises them.
func ReadLogStats(log *wal.Log, to uint64) (LogStats, error) {
	st := LogStats{ByName: map[string]uint64{}, DiskBytes: log.DiskBytes()}
	err := log.Read(log.FirstSeq(), to, func(e wal.Entry) error {
		env, err := DecodeEnvelope(e.Seq, e.Data)
		if err != nil {
			return err
		}
		// Only the name and time are needed: the payload is not decoded.
		if st.Entries == 0 {
			st.FirstSeq, st.FirstTime = env.Seq, env.Time
		}
		st.Entries++
		st.LastSeq, st.LastTime = env.Seq, env.Time
		st.Bytes += uint64(len(e.Data))
		st.ByName[env.Name]++
		return nil
	})
	return st, err
}
