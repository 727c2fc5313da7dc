package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/offline"
)

// logFlags say where a log command reads: a stopped server's data directory,
// or a running server's HTTP API.
type logFlags struct {
	stoppedFlags
	httpAddr string
	token    string
}

func (f *logFlags) register(cmd *cobra.Command, set *apps) {
	f.stoppedFlags.register(cmd, set)
	cmd.Flags().StringVar(&f.httpAddr, "http-addr", "", "read through a running server's HTTP API instead, e.g. 127.0.0.1:8080")
	cmd.Flags().StringVar(&f.token, "token", "", "bearer token to send with --http-addr, when the server requires tokens")
}

// remote is a running server's HTTP API, reached with a token (if any).
func (f *logFlags) remote() remote { return remote{addr: f.httpAddr, token: f.token} }

type remote struct{ addr, token string }

// get requests path and returns the response of a 200; any other status is
// the API's error.
func (r remote) get(path string) (*http.Response, error) {
	req, err := http.NewRequest("GET", ServerURL(r.addr, path), nil)
	if err != nil {
		return nil, fmt.Errorf("--http-addr: %w", err)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("--http-addr: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, ResponseError(resp)
	}
	return resp, nil
}

func logCommand(set *apps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Look into the command log: stats, dump, tail, verify; repair, redact, import",
		Long: `The log subcommands read the command log of a stopped server's data
directory (--data), or of a running server through its HTTP API (--http-addr):
a running server holds its directory's lock.`,
	}
	cmd.AddCommand(logStatsCommand(set), logDumpCommand(set), logTailCommand(set), logVerifyCommand(set), logAcceptLossCommand(set), logRedactCommand(set), logImportCommand(set))
	return cmd
}

// readThrough is what to do instead of reading a running server's
// directory with log sub.
func readThrough(sub string) string {
	return "read through it instead: imago log " + sub + " --http-addr <its --http-addr, e.g. 127.0.0.1:8080>"
}

func logStatsCommand(set *apps) *cobra.Command {
	var f logFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Entries, first and last seq and time, bytes, commands by name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			var st envelope.Stats
			if f.httpAddr != "" {
				err = getJSON(f.remote(), "/v1/log/stats", &st)
			} else {
				st, err = offline.Stats(f.data, app)
				err = f.inUse(err, readThrough("stats"))
			}
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(st)
			}
			printStats(os.Stdout, st)
			return nil
		},
	}
	f.register(cmd, set)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the stats as one JSON object")
	return cmd
}

func printStats(w io.Writer, st envelope.Stats) {
	if st.Entries == 0 {
		fmt.Fprintln(w, "the log is empty")
		return
	}
	fmt.Fprintf(w, "entries     %d\n", st.Entries)
	fmt.Fprintf(w, "first       seq %d at %s\n", st.FirstSeq, st.FirstTime.Format("2006-01-02T15:04:05.000000Z"))
	fmt.Fprintf(w, "last        seq %d at %s\n", st.LastSeq, st.LastTime.Format("2006-01-02T15:04:05.000000Z"))
	fmt.Fprintf(w, "bytes       %d in entries (%.0f per entry), %d on disk\n", st.Bytes, float64(st.Bytes)/float64(st.Entries), st.DiskBytes)
	names := make([]string, 0, len(st.ByName))
	for n := range st.ByName {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return st.ByName[names[i]] > st.ByName[names[j]] || (st.ByName[names[i]] == st.ByName[names[j]] && names[i] < names[j])
	})
	fmt.Fprintln(w, "commands (entries by version, as stored)")
	for _, n := range names {
		fmt.Fprintf(w, "  %-24s %-10d %s\n", n, st.ByName[n], versionCounts(st.Versions[n]))
	}
}

// versionCounts renders a command's entries by version: "v1 1200, v2 34".
func versionCounts(byVersion map[uint32]uint64) string {
	vs := make([]uint32, 0, len(byVersion))
	for v := range byVersion {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("v%d %d", v, byVersion[v])
	}
	return strings.Join(parts, ", ")
}

// dumpFlags select entries.
type dumpFlags struct {
	from, to uint64
	names    []string
	upcast   bool
}

func logDumpCommand(set *apps) *cobra.Command {
	var f logFlags
	var d dumpFlags
	cmd := &cobra.Command{
		Use:   "dump",
		Short: "Print entries as JSON lines, one envelope per line, payload decoded",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			if d.to != 0 && d.to < d.from {
				return fmt.Errorf("--to %d is before --from %d", d.to, d.from)
			}
			out := bufio.NewWriterSize(os.Stdout, 64<<10)
			defer out.Flush()
			if f.httpAddr != "" {
				return streamLog(out, f.remote(), logParams(d, nil, false))
			}
			enc := json.NewEncoder(out)
			err = offline.DumpUpcast(f.data, app, d.from, d.to, d.names, d.upcast, func(env envelope.Envelope) error { return enc.Encode(env) })
			return f.inUse(err, readThrough("dump"))
		},
	}
	f.register(cmd, set)
	cmd.Flags().Uint64Var(&d.from, "from", 0, "first seq (default: where the log begins)")
	cmd.Flags().Uint64Var(&d.to, "to", 0, "last seq (0: the end of the log)")
	cmd.Flags().StringSliceVar(&d.names, "name", nil, "only these commands (comma-separated or repeated)")
	cmd.Flags().BoolVar(&d.upcast, "upcast", false, "print entries as the app's upcasters make them (stored_name, stored_version: what they were; retired: why dropped); a running server's log (--http-addr) is always upcast")
	return cmd
}

func logTailCommand(set *apps) *cobra.Command {
	var f logFlags
	var n uint64
	var follow bool
	var names []string
	var upcast bool
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print the last entries as JSON lines; -f follows a running server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			if f.httpAddr != "" {
				return streamLog(os.Stdout, f.remote(), logParams(dumpFlags{names: names}, &n, follow))
			}
			if follow {
				return fmt.Errorf("-f follows a running server's log: give its --http-addr (a stopped server's log does not grow)")
			}
			enc := json.NewEncoder(os.Stdout)
			err = offline.TailUpcast(f.data, app, n, names, upcast, func(env envelope.Envelope) error { return enc.Encode(env) })
			return f.inUse(err, readThrough("tail"))
		},
	}
	f.register(cmd, set)
	cmd.Flags().Uint64VarP(&n, "lines", "n", 10, "start this many entries before the end (--name then filters them)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing entries as they become durable (needs --http-addr)")
	cmd.Flags().StringSliceVar(&names, "name", nil, "only these commands (comma-separated or repeated)")
	cmd.Flags().BoolVar(&upcast, "upcast", false, "print entries as the app's upcasters make them")
	return cmd
}

// logParams are GET /v1/log's parameters for a dump, or a tail (last not nil).
func logParams(d dumpFlags, last *uint64, follow bool) url.Values {
	v := url.Values{}
	if last != nil {
		v.Set("last", strconv.FormatUint(*last, 10))
	} else if d.from > 0 {
		v.Set("from", strconv.FormatUint(d.from, 10))
	}
	if d.to != 0 {
		v.Set("to", strconv.FormatUint(d.to, 10))
	}
	if len(d.names) > 0 {
		v.Set("name", strings.Join(d.names, ","))
	}
	if follow {
		v.Set("follow", "true")
	}
	return v
}

// serverURL turns an --http-addr into the URL of path on it.
// ServerURL is the URL of path on a server given as host:port or as a URL.
func ServerURL(addr, path string) string {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return strings.TrimSuffix(addr, "/") + path
}

// streamLog copies GET /v1/log's JSON lines to w, line by line (so that a
// follow prints entries as they come); an error line ends it with an error.
func streamLog(w io.Writer, srv remote, params url.Values) error {
	resp, err := srv.get("/v1/log?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	flush := func() error { return nil }
	if bw, ok := w.(*bufio.Writer); ok {
		flush = bw.Flush
	}
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if bytes.HasPrefix(line, []byte(`{"error":`)) {
			return fmt.Errorf("the server ended the stream: %s", bytes.TrimSpace(line))
		}
		if _, werr := w.Write(line); werr != nil {
			return werr
		}
		if r.Buffered() == 0 {
			if ferr := flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the log from %s: %w", srv.addr, err)
		}
	}
}

func getJSON(srv remote, path string, v any) error {
	resp, err := srv.get(path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// ResponseError is the HTTP API's error of a failed request, from its body.
func ResponseError(resp *http.Response) error {
	var body struct {
		Error struct{ Code, Message string }
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
		return fmt.Errorf("%s: %s", resp.Status, body.Error.Message)
	}
	return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
}

func logVerifyCommand(set *apps) *cobra.Command {
	var f stoppedFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a stopped server's log: every entry reads and decodes, and a full replay succeeds",
		Long: `verify reads every entry of a stopped server's log (--data), decodes it and
replays the whole log into a fresh image of the application (--app), then
prints the image's hash. Damaged entries are named by seq. It exits with
status 1 when it finds anything wrong. A running server's directory cannot be
verified in place: verify a copy (cp -a) or stop the server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			rep, err := offline.CheckLog(f.data, app)
			if err != nil {
				return f.inUse(err, "verify a copy of it (cp -a) or stop the server")
			}
			printReport(os.Stdout, rep)
			if !rep.OK() {
				return errors.New("the log has problems (see above)")
			}
			return nil
		},
	}
	f.register(cmd, set)
	return cmd
}

func logAcceptLossCommand(set *apps) *cobra.Command {
	var f stoppedFlags
	cmd := &cobra.Command{
		Use:   "accept-loss",
		Short: "Go on without log entries that were lost (a start refuses until then)",
		Long: `A start refuses a data directory whose log ends before a seq it is known to
have held (its high-water mark log.mark, or a checkpoint past its end):
acknowledged commands are missing. First try to restore the log directory
(with log.mark) from a copy that holds them. If they cannot be had back,
accept-loss records the repair (log.repairs: when, which seqs), lowers the
mark to the log's last seq and moves every checkpoint past it, or of another
history, into checkpoints/set-aside-<time>/: the next start recovers the log
as it is, and new commands take the seqs after its end, never mixed with
the lost history.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := f.parse(cmd, set)
			if err != nil {
				return err
			}
			repair, moved, err := offline.AcceptLoss(f.data, app)
			if err != nil {
				return f.inUse(err, "stop it first: a running server never has lost entries to accept")
			}
			if repair.From <= repair.To {
				fmt.Printf("accepted the loss of seqs %d..%d (recorded in %s)\n", repair.From, repair.To, repair.RecordPath)
			} else {
				fmt.Println("the log is not below its high-water mark")
			}
			for _, m := range moved {
				fmt.Printf("set aside %s\n", m)
			}
			return nil
		},
	}
	f.register(cmd, set)
	return cmd
}

func printReport(w io.Writer, r *offline.LogReport) {
	if r.FirstSeq > 1 && r.FirstSeq > r.LastSeq {
		fmt.Fprintf(w, "log         no entries: truncated after seq %d\n", r.LastSeq)
	} else {
		fmt.Fprintf(w, "log         seq %d..%d\n", r.FirstSeq, r.LastSeq)
	}
	if r.BaseFile != "" {
		fmt.Fprintf(w, "base        %s (seq %d): the log was truncated after it\n", r.BaseFile, r.Base)
	}
	if r.Lost != nil {
		fmt.Fprintf(w, "LOST        seqs %d..%d: the log ends before its high-water mark (imago log accept-loss, after trying a backup)\n", r.Lost.Last+1, r.Lost.Mark)
	}
	if r.MarkErr != nil {
		fmt.Fprintf(w, "MARK        %v\n", r.MarkErr)
	}
	if d := r.WALDamage; d != nil {
		fmt.Fprintf(w, "DAMAGED     WAL file %s at offset %d: entries up to seq %d are readable, what it held after is lost (%v)\n", d.File, d.Offset, d.LastGood, d.Err)
	}
	for _, d := range r.Tables {
		fmt.Fprintf(w, "DAMAGED     table %s (level %d) holding entries %d..%d: %v\n", d.File, d.Level, d.From, d.To, d.Err)
	}
	fmt.Fprintf(w, "read        %d entries\n", r.Readable)
	for _, d := range r.Damage {
		fmt.Fprintf(w, "DAMAGED     entries %d..%d cannot be read: %v\n", d.From, d.To, d.Err)
	}
	for _, err := range r.Undecodable {
		fmt.Fprintf(w, "UNDECODABLE %v\n", err)
	}
	if r.ReplayErr != nil {
		fmt.Fprintf(w, "REPLAY      failed: %v\n", r.ReplayErr)
		return
	}
	fmt.Fprintf(w, "replay      %d commands applied\n", r.Replayed)
	fmt.Fprintf(w, "image hash  %x\n", r.Hash)
}
