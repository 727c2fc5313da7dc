package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/writer"
)

// maxImportLine bounds one line of an import file.
const maxImportLine = 16 << 20

type importFlags struct {
	stoppedFlags
	file     string
	actor    string
	batch    int
	fromLine int
}

func logImportCommand(set *apps) *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import another system's history into a stopped server's data directory, with the original times",
		Long: `Reads commands as JSON lines (--file, - for standard input), one per line:

  {"name":"place_order","time":"2025-03-01T09:30:00.123456Z","id":"o-1","actor":"web","payload":{...}}

(optional: "id", "actor", "cause", "version"; an old version is upcast) and
appends them to the log of --data (created if new) with their original
times, ids and actors, recorded as imported by --actor: for moving an
existing system's history into Imago. Times must not go backwards, must not
precede the log's last entry and must not be in the future. Every line is
decoded and its time checked before anything is written; a malformed line
refuses the whole file, naming it. Then the commands are validated and
applied as live ones, --batch lines at a time, each batch all or nothing: a
refused command stops the import, naming its line, with the batches before
it imported (resume with --from-line). Reactors do not run for imported
commands. POST /v1/admin/import does the same on a running server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			if f.batch < 1 || f.batch > api.MaxImportItems {
				return fmt.Errorf("--batch %d: want 1 to %d", f.batch, api.MaxImportItems)
			}
			if f.fromLine < 1 {
				return fmt.Errorf("--from-line %d: lines count from 1", f.fromLine)
			}
			if f.actor == "" {
				return errors.New("--actor: name who imports (recorded in each imported entry)")
			}
			return f.run(cmd.OutOrStdout(), app)
		},
	}
	f.register(cmd, set)
	fl := cmd.Flags()
	fl.StringVar(&f.file, "file", "-", "JSON lines of commands to import (-: standard input)")
	fl.StringVar(&f.actor, "actor", "", "who imports (recorded in each entry as imported_by; the actor of entries without one)")
	fl.IntVar(&f.batch, "batch", 1000, "commands applied and logged together, all or nothing")
	fl.IntVar(&f.fromLine, "from-line", 1, "the first line to import (after an import that stopped)")
	return cmd
}

// importLine is a decoded line and its number.
type importLine struct {
	no int
	commands.Import
}

func (f *importFlags) run(out io.Writer, app *imago.App) error {
	in := io.Reader(os.Stdin)
	if f.file != "-" {
		file, err := os.Open(f.file)
		if err != nil {
			return fmt.Errorf("--file: %w", err)
		}
		defer file.Close()
		in = file
	}
	db, err := imago.Open(f.data, app, imago.Options{Durability: writer.Durability{Mode: writer.Always}})
	if err != nil {
		return f.inUse(err, "import through it instead: POST /v1/admin/import")
	}
	lines, err := f.decode(in, api.ImportDecoder{Registry: db.Registry(), Upcaster: db.Upcaster()})
	if err == nil {
		err = f.apply(out, db, lines)
	}
	return errors.Join(err, db.Close())
}

// decode reads and decodes every line from --from-line on, and checks
// that their times do not go backwards: a malformed file writes nothing.
func (f *importFlags) decode(in io.Reader, dec api.ImportDecoder) ([]importLine, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	var lines []importLine
	for no := 1; sc.Scan(); no++ {
		b := bytes.TrimSpace(sc.Bytes())
		if no < f.fromLine || len(b) == 0 {
			continue
		}
		it, err := dec.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w; nothing was imported", f.file, no, err)
		}
		if n := len(lines); n > 0 && it.Time.Before(lines[n-1].Time) {
			return nil, fmt.Errorf("%s line %d: time %s is before line %d's (%s): times must not go backwards; nothing was imported",
				f.file, no, it.Time.Format(time.RFC3339Nano), lines[n-1].no, lines[n-1].Time.Format(time.RFC3339Nano))
		}
		lines = append(lines, importLine{no: no, Import: it})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--file %s: %w; nothing was imported", f.file, err)
	}
	return lines, nil
}

// apply imports the lines --batch at a time.
func (f *importFlags) apply(out io.Writer, db *imago.DB, lines []importLine) error {
	if len(lines) == 0 {
		fmt.Fprintf(out, "nothing to import in %s\n", f.file)
		return nil
	}
	var first, last uint64
	for start := 0; start < len(lines); start += f.batch {
		chunk := lines[start:min(start+f.batch, len(lines))]
		items := make([]commands.Import, len(chunk))
		for i, l := range chunk {
			items[i] = l.Import
		}
		res, err := db.Import(context.Background(), items, f.actor)
		if err != nil {
			done := "nothing was imported"
			if start > 0 {
				done = fmt.Sprintf("lines %d to %d are imported (seqs %d to %d); import the rest with --from-line %d", lines[0].no, lines[start-1].no, first, last, chunk[0].no)
			}
			var ie *commands.ImportError
			if errors.As(err, &ie) {
				return fmt.Errorf("%s line %d (%s): %w; %s", f.file, chunk[ie.Item].no, ie.Command, ie.Err, done)
			}
			return fmt.Errorf("%s lines %d to %d: %w; %s", f.file, chunk[0].no, chunk[len(chunk)-1].no, err, done)
		}
		if first == 0 {
			first = res[0].Seq
		}
		last = res[len(res)-1].Seq
	}
	fmt.Fprintf(out, "imported %d commands (lines %d to %d) as seqs %d to %d, %s to %s, imported by %s\n", len(lines), lines[0].no, lines[len(lines)-1].no,
		first, last, lines[0].Time.UTC().Format(time.RFC3339Nano), lines[len(lines)-1].Time.UTC().Format(time.RFC3339Nano), f.actor)
	return nil
}
