package wal

// ReadValues calls fn with the seq and value of each entry of from <= seq
// <= to, in order: Read in plain types, so that readers of the log
// (envelope.Values) need not import this package. value is valid only
// during the call.
func (l *Log) ReadValues(from, to uint64, fn func(seq uint64, value []byte) error) error {
	return l.Read(from, to, func(e Entry) error { return fn(e.Seq, e.Data) })
}
