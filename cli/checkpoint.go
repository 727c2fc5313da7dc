package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/offline"
	"github.com/imagodb/imago/wal"
)

// stoppedFlags say which stopped server's data directory, of which
// application, a command works on (checkpoint commands, log verify).
type stoppedFlags struct {
	data string
	app  string
}

func (f *stoppedFlags) register(cmd *cobra.Command, set *apps) {
	cmd.Flags().StringVar(&f.data, "data", "./imago-data", "data directory of a stopped server")
	set.appFlag(cmd.Flags(), &f.app)
}

// parse reads the environment and resolves the application.
func (f *stoppedFlags) parse(cmd *cobra.Command, set *apps) (*imago.App, error) {
	if err := BindEnv(cmd); err != nil {
		return nil, err
	}
	return set.byName(f.app)
}

// inUse turns the lock error of a running server's directory into what to
// do instead.
func (f *stoppedFlags) inUse(err error, instead string) error {
	if errors.Is(err, wal.ErrLocked) {
		return fmt.Errorf("the data directory %s is in use by a running server: %s", f.data, instead)
	}
	return err
}

func checkpointCommand(set *apps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "List, verify or create the checkpoints of a stopped server's data directory",
		Long: `A checkpoint is the whole image at one seq of the log, from which a restart
loads instead of replaying the log from the start. A running server writes
them (--checkpoint-every, --checkpoint-interval, at stop, POST
/v1/admin/checkpoint); these subcommands work on a stopped server's data
directory (--data).`,
	}
	cmd.AddCommand(checkpointListCommand(set), checkpointVerifyCommand(set), checkpointCreateCommand(set))
	return cmd
}

func checkpointListCommand(set *apps) *cobra.Command {
	var f stoppedFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "The checkpoint files, newest first, and whether a restart would use them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			list, err := offline.ListCheckpoints(f.data, app)
			if err != nil {
				return err
			}
			printCheckpoints(os.Stdout, f.data, list)
			return nil
		},
	}
	f.register(cmd, set)
	return cmd
}

func printCheckpoints(w io.Writer, dir string, list []offline.CheckpointFile) {
	if len(list) == 0 {
		fmt.Fprintf(w, "no checkpoints in %s\n", imago.CheckpointDir(dir))
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tCREATED\tBYTES\tFILE\tSTATUS")
	for _, c := range list {
		status := "usable"
		if c.Problem != "" {
			status = "NOT USABLE: " + c.Problem
		}
		created := "-"
		if !c.Header.CreatedAt.IsZero() {
			created = c.Header.CreatedAt.Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\n", c.Seq, created, c.Size, c.Path, status)
	}
	tw.Flush()
}

func checkpointVerifyCommand(set *apps) *cobra.Command {
	var f stoppedFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every checkpoint: checksum, and that it equals a replay of the log",
		Long: `verify checks each checkpoint of a stopped server's data directory: its frame,
projection fingerprint and checksum, then that the image it holds equals a
strict replay of the log up to its seq (the log is replayed once, oldest
checkpoint first). It exits with status 1 when a checkpoint is not good.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			verdicts, err := offline.VerifyCheckpoints(f.data, app)
			printVerdicts(os.Stdout, f.data, verdicts)
			if err != nil {
				return f.inUse(err, "verify a copy of it (cp -a) or stop the server")
			}
			for _, v := range verdicts {
				if v.Err != nil {
					return errors.New("some checkpoints are not good (see above)")
				}
			}
			return nil
		},
	}
	f.register(cmd, set)
	return cmd
}

func printVerdicts(w io.Writer, dir string, verdicts []offline.CheckpointVerdict) {
	if len(verdicts) == 0 {
		fmt.Fprintf(w, "no checkpoints in %s\n", imago.CheckpointDir(dir))
	}
	for _, v := range verdicts {
		if v.Err != nil {
			fmt.Fprintf(w, "BAD  %s (seq %d): %v\n", v.File.Path, v.File.Seq, v.Err)
			continue
		}
		if v.Base {
			fmt.Fprintf(w, "ok   %s (seq %d): %d rows, checksum good, the base of the truncated log: the replay starts from it (image hash %x)\n", v.File.Path, v.File.Seq, v.Rows, v.Hash)
			continue
		}
		fmt.Fprintf(w, "ok   %s (seq %d): %d rows, checksum good, equals the replay (image hash %x)\n", v.File.Path, v.File.Seq, v.Rows, v.Hash)
	}
}

func checkpointCreateCommand(set *apps) *cobra.Command {
	var f stoppedFlags
	var keep int
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Recover a stopped server's image (newest checkpoint + log) and write a checkpoint of it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			info, err := offline.CreateCheckpoint(f.data, app, keep, logger)
			if err != nil {
				return f.inUse(err, "ask it instead: curl -X POST http://<its --http-addr>/v1/admin/checkpoint")
			}
			fmt.Printf("checkpoint written: %s (seq %d, %d rows, %d bytes, %d ms)\n", info.Path, info.Seq, info.Rows, info.Bytes, info.Duration.Milliseconds())
			return nil
		},
	}
	f.register(cmd, set)
	cmd.Flags().IntVar(&keep, "checkpoints-keep", 3, "checkpoint files kept; older ones are removed after the new one is complete")
	return cmd
}
