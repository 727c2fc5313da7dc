package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/imagodb/imago/offline"
)

// replayCommand replays a stopped server's log with this build and writes
// the digests that `imago diff` compares.
func replayCommand(set *apps) *cobra.Command {
	var f stoppedFlags
	var opts offline.DigestOptions
	var digests string
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Replay a stopped server's log (a copy of it) with this build, writing what each command changed to --digests",
		Long: `Replays the log of --data (a stopped server's, or a copy of production's),
one command at a time, with this build's commands and upcasters, and writes
to --digests a JSON line per command (its outcome, the rows it changed and a
digest of them) and each table's digest every --every commands. Nothing in
--data changes. Run it with two builds and compare with imago diff.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			if digests == "" {
				return fmt.Errorf("--digests FILE is needed")
			}
			out, err := os.Create(digests)
			if err != nil {
				return err
			}
			last, err := offline.ReplayDigests(f.data, app, opts, out)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return f.inUse(err, "stop it, or replay a copy of its data directory")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "replayed up to seq %d with app %s: %s\n", last, app.Name, digests)
			return nil
		},
	}
	f.register(cmd, set)
	cmd.Flags().Uint64Var(&opts.To, "to", 0, "last seq replayed (0: the log's end)")
	cmd.Flags().Uint64Var(&opts.Every, "every", 10000, "write every table's digest every this many commands")
	cmd.Flags().StringVar(&digests, "digests", "", "file to write the digests to")
	return cmd
}

// errDiverged makes imago diff exit 1, as diff(1) does, after printing.
type errDiverged struct{ seq uint64 }

func (e errDiverged) Error() string { return fmt.Sprintf("the replays diverge at seq %d", e.seq) }

func diffCommand() *cobra.Command {
	var ignore []string
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two digests files (imago replay of one log by two builds): the first seq where they diverge",
		Long: `Compares two files written by imago replay --digests (the same log replayed
by two builds) and prints the first seq where they diverge: that command
(name, payload), each build's outcome, and the rows it changed differently
(table, key, the row in A and in B). --ignore table.column leaves out an
intended difference. Exits 0 when they agree, 1 when they diverge.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := BindEnv(cmd); err != nil {
				return err
			}
			a, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer a.Close()
			b, err := os.Open(args[1])
			if err != nil {
				return err
			}
			defer b.Close()
			d, err := offline.Diff(a, b, ignore)
			if err != nil {
				return err
			}
			if d == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s and %s agree\n", args[0], args[1])
				return nil
			}
			printDivergence(cmd.OutOrStdout(), d, args[0], args[1])
			cmd.SilenceUsage = true
			return errDiverged{d.Seq}
		},
	}
	cmd.Flags().StringSliceVar(&ignore, "ignore", nil, "table.column to leave out of the comparison (repeated or comma-separated)")
	return cmd
}

func printDivergence(w io.Writer, d *offline.Divergence, a, b string) {
	if len(d.Tables) > 0 {
		fmt.Fprintf(w, "first divergence at seq %d: the digests of tables %v differ\n", d.Seq, d.Tables)
		return
	}
	fmt.Fprintf(w, "first divergence at seq %d: %s %s\n", d.Seq, d.Name, d.Payload)
	outcome := func(o string) string {
		if o == "" {
			return "applied"
		}
		return o
	}
	fmt.Fprintf(w, "  A (%s): %s\n  B (%s): %s\n", a, outcome(d.OutcomeA), b, outcome(d.OutcomeB))
	row := func(c *offline.RowChange) string {
		if c == nil {
			return "(unchanged)"
		}
		if c.After == nil {
			return "(deleted)"
		}
		js, _ := json.Marshal(c.After)
		return string(js)
	}
	for _, r := range d.Rows {
		key, _ := json.Marshal(r.Key)
		fmt.Fprintf(w, "  %s %s\n    A: %s\n    B: %s\n", r.Table, key, row(r.A), row(r.B))
	}
}
