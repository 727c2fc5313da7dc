package main

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

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/wal"
)

// logFlags say where a log command reads: a stopped server's data directory,
// or a running server's HTTP API.
type logFlags struct {
	data     string
	httpAddr string
	token    string
}

func (f *logFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.data, "data", "./imago-data", "data directory of a stopped server")
	cmd.Flags().StringVar(&f.httpAddr, "http-addr", "", "read through a running server's HTTP API instead, e.g. 127.0.0.1:8080")
	cmd.Flags().StringVar(&f.token, "token", "", "bearer token to send with --http-addr, when the server requires tokens")
}

// remote is a running server's HTTP API, reached with a token (if any).
func (f *logFlags) remote() remote { return remote{addr: f.httpAddr, token: f.token} }

type remote struct{ addr, token string }

// get requests path and returns the response of a 200; any other status is
// the API's error.
func (r remote) get(path string) (*http.Response, error) {
	req, err := http.NewRequest("GET", serverURL(r.addr, path), nil)
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
		return nil, responseError(resp)
	}
	return resp, nil
}

func logCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Look into the command log: stats, dump, tail, verify",
		Long: `The log subcommands read the command log of a stopped server's data
directory (--data), or of a running server through its HTTP API (--http-addr):
a running server holds its directory's lock.`,
	}
	cmd.AddCommand(logStatsCommand(), logDumpCommand(), logTailCommand(), logVerifyCommand())
	return cmd
}

// openLocal opens the log of a stopped server for reading; a running
// server's directory is refused with what to do instead.
func openLocal(f logFlags, sub string) (*wal.Log, error) {
	log, err := imago.OpenLog(f.data)
	if errors.Is(err, wal.ErrLocked) {
		return nil, fmt.Errorf("the data directory %s is in use by a running server; read through it instead: imago log %s --http-addr <its --http-addr, e.g. 127.0.0.1:8080>", f.data, sub)
	}
	return log, err
}

func logStatsCommand() *cobra.Command {
	var f logFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Entries, first and last seq and time, bytes, commands by name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			var st commands.LogStats
			var err error
			if f.httpAddr != "" {
				err = getJSON(f.remote(), "/v1/log/stats", &st)
			} else {
				st, err = localStats(f)
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
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the stats as one JSON object")
	return cmd
}

func localStats(f logFlags) (commands.LogStats, error) {
	log, err := openLocal(f, "stats")
	if err != nil {
		return commands.LogStats{}, err
	}
	defer log.Close()
	return commands.ReadLogStats(log, log.LastSeq())
}

func printStats(w io.Writer, st commands.LogStats) {
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
	fmt.Fprintln(w, "commands")
	for _, n := range names {
		fmt.Fprintf(w, "  %-24s %d\n", n, st.ByName[n])
	}
}

// dumpFlags select entries.
type dumpFlags struct {
	from, to uint64
	names    []string
}

func logDumpCommand() *cobra.Command {
	var f logFlags
	var d dumpFlags
	cmd := &cobra.Command{
		Use:   "dump",
		Short: "Print entries as JSON lines, one envelope per line, payload decoded",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
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
			log, err := openLocal(f, "dump")
			if err != nil {
				return err
			}
			defer log.Close()
			from, to := d.from, d.to
			if from == 0 {
				from = log.FirstSeq()
			}
			if to == 0 {
				to = log.LastSeq()
			}
			return dumpLocal(out, log, from, to, d.names)
		},
	}
	f.register(cmd)
	cmd.Flags().Uint64Var(&d.from, "from", 0, "first seq (default: where the log begins)")
	cmd.Flags().Uint64Var(&d.to, "to", 0, "last seq (0: the end of the log)")
	cmd.Flags().StringSliceVar(&d.names, "name", nil, "only these commands (comma-separated or repeated)")
	return cmd
}

func dumpLocal(w io.Writer, log *wal.Log, from, to uint64, names []string) error {
	only := map[string]bool{}
	for _, n := range names {
		only[n] = true
	}
	enc := json.NewEncoder(w)
	return commands.ReadEnvelopes(log, from, to, func(env commands.Envelope) error {
		if len(only) > 0 && !only[env.Name] {
			return nil
		}
		return enc.Encode(env)
	})
}

func logTailCommand() *cobra.Command {
	var f logFlags
	var n uint64
	var follow bool
	var names []string
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print the last entries as JSON lines; -f follows a running server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			if f.httpAddr != "" {
				return streamLog(os.Stdout, f.remote(), logParams(dumpFlags{names: names}, &n, follow))
			}
			if follow {
				return fmt.Errorf("-f follows a running server's log: give its --http-addr (a stopped server's log does not grow)")
			}
			log, err := openLocal(f, "tail")
			if err != nil {
				return err
			}
			defer log.Close()
			last := log.LastSeq()
			return dumpLocal(os.Stdout, log, max(last-min(last, n)+1, log.FirstSeq()), last, names)
		},
	}
	f.register(cmd)
	cmd.Flags().Uint64VarP(&n, "lines", "n", 10, "start this many entries before the end (--name then filters them)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing entries as they become durable (needs --http-addr)")
	cmd.Flags().StringSliceVar(&names, "name", nil, "only these commands (comma-separated or repeated)")
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
func serverURL(addr, path string) string {
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

// responseError is the API's error body of a failed request.
func responseError(resp *http.Response) error {
	var body struct {
		Error struct{ Code, Message string }
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
		return fmt.Errorf("%s: %s", resp.Status, body.Error.Message)
	}
	return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
}

func logVerifyCommand() *cobra.Command {
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
			app, err := f.parse(cmd)
			if err != nil {
				return err
			}
			rep, err := imago.CheckLog(f.data, app)
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
	f.register(cmd)
	return cmd
}

func printReport(w io.Writer, r *imago.LogReport) {
	if r.FirstSeq > 1 && r.FirstSeq > r.LastSeq {
		fmt.Fprintf(w, "log         no entries: truncated after seq %d\n", r.LastSeq)
	} else {
		fmt.Fprintf(w, "log         seq %d..%d\n", r.FirstSeq, r.LastSeq)
	}
	if r.BaseFile != "" {
		fmt.Fprintf(w, "base        %s (seq %d): the log was truncated after it\n", r.BaseFile, r.Base)
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
