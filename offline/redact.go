package offline

import (
	"github.com/imagodb/imago"
	"github.com/imagodb/imago/redaction"
)

// RedactionMarker is the value that replaces a redacted payload field of
// the entry at seq.
func RedactionMarker(seq uint64) string { return redaction.Marker(seq) }

// RedactionsFile records, in a data directory, each redaction: who, when,
// why and what (seqs and fields, never the old values), one JSON line each.
const RedactionsFile = imago.RedactionsFile

// Redaction chooses entries, the payload fields to redact in them, who and
// why (see imago.Redaction).
type Redaction = imago.Redaction

// RedactionRecord is a line of RedactionsFile.
type RedactionRecord = imago.RedactionRecord

// RefusedRedactionError is a redaction whose replay would differ from the
// log's in more than values derived from the redacted fields.
type RefusedRedactionError = redaction.RefusedError

// Redact replaces payload fields of chosen entries of a stopped server's
// log with RedactionMarker(seq), keeping every seq, name, time and the rest.
// Before it writes anything, it replays the log as stored and as redacted,
// one command at a time, and refuses (*RefusedRedactionError) at the first
// seq where they differ in more than values derived from the redacted
// fields (see package redaction): a command that succeeded and would be
// refused, a row changed in one replay only, a cell that changes and does
// not hold the marker (unless declared derived). Then it removes the
// checkpoints at or after the first redacted seq, rewrites the entries,
// records the redaction in RedactionsFile, compacts the log's range (the
// old bytes leave its files) and writes those checkpoints again from the
// redacted replay (another projection's are not: they stay removed). A
// truncated log needs a checkpoint of this projection before the first
// redacted seq.
func Redact(dataDir string, app *imago.App, r Redaction) (*RedactionRecord, error) {
	return imago.RedactDir(dataDir, app, r)
}
