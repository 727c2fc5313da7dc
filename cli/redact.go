package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imagodb/imago/offline"
)

func logRedactCommand(set *apps) *cobra.Command {
	var f stoppedFlags
	var r offline.Redaction
	var where string
	var seqs []uint
	cmd := &cobra.Command{
		Use:   "redact",
		Short: "Replace payload fields of chosen entries of a stopped server's log with a marker, for good",
		Long: `Replaces the --field values of the chosen entries (--seq, or every entry whose
payload has --where field=value) with "` + offline.RedactionMarker(17) + `" (at seq 17), keeping every seq,
name and time. Before writing anything it replays the log as stored and as
redacted, one command at a time, and refuses at the first seq where they
differ in more than values derived from the redacted fields: a command that
succeeded and would fail, a row changed in one replay only, or a cell that
changes without holding the marker (a column computed from a redacted field,
e.g. a hash, is declared with --derived table.column). Then it rewrites the
entries, compacts the log's range so that the old bytes leave its files,
writes the checkpoints at or after the first redacted seq again from the
redacted replay, and records who (--actor), when, why (--reason) and what
(seqs, fields; never the values) in log.redactions. On a running primary:
POST /v1/admin/redact. Back up first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			if where != "" {
				var ok bool
				if r.WhereField, r.WhereValue, ok = strings.Cut(where, "="); !ok {
					return fmt.Errorf("--where %q: give field=value", where)
				}
			}
			for _, s := range seqs {
				r.Seqs = append(r.Seqs, uint64(s))
			}
			r.Now = time.Now()
			rec, err := offline.Redact(f.data, app, r)
			if err != nil {
				return f.inUse(err, "stop it first: a redaction rewrites the log")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "redacted %v in %d entries (seqs %v; proof: %d commands replayed, %d derived cells differ); checkpoints rewritten %v, removed %v; recorded in %s (epoch %d)\n",
				rec.Fields, len(rec.Seqs), rec.Seqs, rec.Replayed, rec.DerivedCells, rec.Rewritten, rec.Removed, offline.RedactionsFile, rec.Epoch)
			return nil
		},
	}
	f.register(cmd, set)
	cmd.Flags().UintSliceVar(&seqs, "seq", nil, "entries to redact, by seq (repeated or comma-separated)")
	cmd.Flags().StringVar(&where, "where", "", "redact every entry whose payload has field=value, e.g. customer_id=c-17")
	cmd.Flags().StringSliceVar(&r.Fields, "field", nil, "payload fields to redact (repeated or comma-separated)")
	cmd.Flags().StringSliceVar(&r.Derived, "derived", nil, "columns (table.column) computed from a redacted field that may differ without holding the marker")
	cmd.Flags().StringVar(&r.Actor, "actor", "", "who redacts (recorded)")
	cmd.Flags().StringVar(&r.Reason, "reason", "", "why (recorded)")
	return cmd
}
