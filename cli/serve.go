package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/gcpolicy"
	"github.com/imagodb/imago/reactors"
	"github.com/imagodb/imago/server"
	"github.com/imagodb/imago/writer"
)

type serveFlags struct {
	app        string
	durability string
	logFormat  string
	logLevel   string
	every      checkpointEvery
	cfg        server.Config
}

func serveCommand(set *apps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve an application: HTTP write API and read-only MySQL",
		Long: `Serve opens the data directory, replays the command log into memory and
serves the application: commands through the HTTP write API, SQL reads over
the MySQL protocol. Every flag can also be set as IMAGO_<FLAG>, e.g.
IMAGO_MYSQL_ADDR=127.0.0.1:3307.`,
		Args: cobra.NoArgs,
	}
	processFlags(cmd, set, new(serveFlags), "./imago-data")
	return cmd
}

func replicaCommand(set *apps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replica",
		Short: "Serve a read-only replica that follows a primary's log",
		Long: `Replica bootstraps a new data directory from the primary's newest checkpoint
of the same projection (or from its whole log, for another app that knows
every command the primary logs), then follows the primary's log as it
becomes durable there, applies it with the same code and serves the image
read-only over MySQL, as serve does. A restart resumes from its own data;
a lost connection reconnects with backoff. Writes sent to it are refused,
naming the primary.`,
		Args: cobra.NoArgs,
	}
	f := new(serveFlags)
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.ReplicaOf, "primary", "", "the primary's HTTP API, e.g. http://10.0.0.5:8080 (required)")
	fl.StringVar(&f.cfg.ReplicaToken, "token", "", "a bearer token of the primary with the log and checkpoints scopes, when it requires tokens")
	fl.StringVar(&f.cfg.ReplicaName, "name", "", "this replica's name, as the primary sees it (default: the host name)")
	fl.DurationVar(&f.cfg.MaxLag, "max-lag", 10*time.Second, "GET /readyz answers 503 while the replica is further behind its primary (0: never)")
	processFlags(cmd, set, f, "./imago-replica")
	return cmd
}

// processFlags declares the flags of a serving process (serve, replica)
// on cmd and runs it with them.
func processFlags(cmd *cobra.Command, set *apps, f *serveFlags, data string) {
	fl := cmd.Flags()
	c := &f.cfg
	set.appFlag(fl, &f.app)
	fl.StringVar(&c.Data, "data", data, "data directory (created if missing; it belongs to one app)")
	fl.StringVar(&c.MySQLAddr, "mysql-addr", "127.0.0.1:3306", "address of the read-only MySQL server")
	fl.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:8080", "address of the HTTP write API")
	fl.StringVar(&c.HTTPTokensFile, "http-tokens", "", "file of bearer tokens, one per line: <token> <actor> [command,command,...]; required unless --http-addr is a loopback address")
	fl.StringSliceVar(&c.HTTPOrigins, "http-allowed-origins", nil, "origins (scheme://host[:port]) whose web pages may call the HTTP API from a browser (CORS); others are refused")
	fl.StringVar(&f.durability, "durability", "always", "always | interval=<duration> | none")
	fl.StringVar(&f.logFormat, "log-format", "text", "text | json")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug | info | warn | error")
	fl.DurationVar(&c.SlowQuery, "slow-query", 0, "log SQL statements that run at least this long, e.g. 500ms (0: none)")
	fl.StringVar(&c.MySQLUser, "mysql-user", "root", "MySQL account with every (read-only) privilege")
	fl.StringVar(&c.MySQLPassword, "mysql-password", "", "its password; required unless --mysql-addr is a loopback address")
	fl.StringVar(&c.MySQLUsersFile, "mysql-users-file", "", `more read-only accounts, one per line: "<user> <password> [mysql_native_password|caching_sha2_password]"`)
	fl.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate for MySQL TLS (with --tls-key)")
	fl.StringVar(&c.TLSKey, "tls-key", "", "PEM private key for MySQL TLS (with --tls-cert)")
	fl.IntVar(&c.MaxConnections, "mysql-max-connections", 151, "most MySQL connections open at once (0: no limit)")
	fl.DurationVar(&c.QueryTimeout, "mysql-query-timeout", server.DefaultQueryTimeout, "longest a SQL statement may run; a longer one ends with MySQL error 3024 (0: no limit)")
	fl.StringVar(&c.PprofAddr, "pprof-addr", "", "address for Go's pprof endpoints, e.g. 127.0.0.1:6060 (empty: off)")
	fl.Var(&f.every, "checkpoint-every", "write a checkpoint after N commands since the last one, or when the log grew by a size (256MiB), or whichever comes first (100000,256MiB); 0: neither")
	fl.DurationVar(&c.CheckpointInterval, "checkpoint-interval", time.Hour, "write a checkpoint this often while there are new commands (0: not by time)")
	fl.IntVar(&c.CheckpointsKeep, "checkpoints-keep", 3, "checkpoint files kept (older ones are removed once a newer one is complete)")
	fl.Float64Var(&c.CheckpointShare, "checkpoint-share", 0.25, "the share of the time a checkpoint works while commands are being written, so that writes slow down little (1: full speed)")
	fl.DurationVar(&c.IdempotencyWindow, "idempotency-window", commands.DefaultIdempotencyWindow, "how long, in command time, an Idempotency-Key is remembered")
	c.AsOfCacheBytes = imago.DefaultAsOfCacheBytes
	fl.Var((*byteSize)(&c.AsOfCacheBytes), "as-of-cache", "memory for the past states built for AS OF and shop@N queries, kept least recently used first out (e.g. 256MiB, 1GiB)")
	fl.BoolVar(&c.TruncateLog, "truncate-log-before-checkpoint", false, "after each checkpoint, remove the log entries up to the oldest checkpoint kept (the history before it is lost; a projection change can then not rebuild from the log)")
	fl.DurationVar(&c.ReplicaSlotTTL, "replica-slot-ttl", imago.SlotTTL, "how long a replica that left holds back --truncate-log-before-checkpoint (a replica back later bootstraps again)")
	gc := gcpolicy.Default()
	c.GC = &gc
	fl.IntVar(&gc.Percent, "gc-percent", gc.Percent, "the garbage collector's GOGC while serving: the heap may grow by this share of the live heap between collections (-1: only the memory limit collects; default: $GOGC, else 400)")
	fl.Var((*byteSize)(&gc.Limit), "memory-limit", "the soft memory limit (GOMEMLIMIT) past which the collector works harder, e.g. 12GiB (default: $GOMEMLIMIT, else 3/4 of the machine's memory; 0: none)")
	fl.BoolVar(&c.CheckpointOnStop, "checkpoint-on-stop", true, "write a checkpoint at a graceful stop, so the next start replays nothing")
	appFlags := set.declareFlags(fl)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := BindEnv(cmd); err != nil {
			return err
		}
		if cmd.Name() == "replica" {
			if f.cfg.ReplicaOf == "" {
				return errors.New("--primary: give the primary's HTTP API, e.g. http://10.0.0.5:8080")
			}
			if f.cfg.ReplicaName == "" {
				f.cfg.ReplicaName, _ = os.Hostname()
			}
		}
		return serve(cmd.Context(), set, f, appFlags)
	}
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// serve starts the server f describes and runs it until SIGINT or SIGTERM.
func serve(ctx context.Context, set *apps, f *serveFlags, appFlags *appFlagSets) error {
	logger, err := newLogger(f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	// Signals are caught before the startup line: whoever waits for it may
	// send one at once, and it must stop the server gracefully.
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := start(set, f, appFlags, logger)
	if err != nil {
		logger.Error("imago refused to start", "err", err)
		return loggedError{err}
	}
	return srv.Run(ctx)
}

// start completes the server's config from the flags and starts it.
func start(set *apps, f *serveFlags, appFlags *appFlagSets, logger *slog.Logger) (*server.Server, error) {
	app, err := set.byName(f.app)
	if err != nil {
		return nil, err
	}
	if f.cfg.Durability, err = writer.ParseDurability(f.durability); err != nil {
		return nil, fmt.Errorf("--durability: %w", err)
	}
	if f.cfg.Reactors, err = appFlags.reactors(app); err != nil {
		return nil, err
	}
	f.cfg.App, f.cfg.Logger = app, logger
	f.cfg.CheckpointEvery, f.cfg.CheckpointEveryBytes = f.every.commands, f.every.bytes
	return server.Start(f.cfg)
}

// appFlagSets are the apps' own serve flags (imago.App.Flags).
type appFlagSets struct {
	fs    *pflag.FlagSet
	names map[*imago.App][]string                           // each app's flags
	build map[*imago.App]func() ([]reactors.Reactor, error) // its reactors from them
}

// declareFlags declares every app's own flags on fs.
func (a *apps) declareFlags(fs *pflag.FlagSet) *appFlagSets {
	sets := &appFlagSets{fs: fs, names: map[*imago.App][]string{}, build: map[*imago.App]func() ([]reactors.Reactor, error){}}
	for _, app := range a.list {
		if app.Flags == nil {
			continue
		}
		goFlags(fs, func(gfs *flag.FlagSet) {
			sets.build[app] = app.Flags(gfs)
			gfs.VisitAll(func(f *flag.Flag) { sets.names[app] = append(sets.names[app], f.Name) })
		})
	}
	return sets
}

// reactors builds the reactors of app from its flags, refusing the flags
// of other apps that were given.
func (s *appFlagSets) reactors(app *imago.App) ([]reactors.Reactor, error) {
	for other, names := range s.names {
		for _, name := range names {
			if other != app && s.fs.Changed(name) {
				return nil, fmt.Errorf("--%s is a flag of app %s; --app %s has no such flag", name, other.Name, app.Name)
			}
		}
	}
	if build := s.build[app]; build != nil {
		return build()
	}
	return nil, nil
}

// checkpointEvery is the value of --checkpoint-every: a number of commands,
// a log size, or both separated by a comma.
type checkpointEvery struct{ commands, bytes uint64 }

var sizeUnits = []struct {
	suffix string
	bytes  uint64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}

func (c *checkpointEvery) Set(s string) error {
	*c = checkpointEvery{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		unit := uint64(0)
		for _, u := range sizeUnits {
			if rest, ok := strings.CutSuffix(part, u.suffix); ok {
				part, unit = strings.TrimSpace(rest), u.bytes
				break
			}
		}
		n, err := strconv.ParseUint(part, 10, 64)
		if err != nil {
			return fmt.Errorf("want a number of commands (100000), a log size (256MiB) or both (100000,256MiB)")
		}
		if unit == 0 {
			c.commands = n
		} else {
			c.bytes = n * unit
		}
	}
	return nil
}

func (c *checkpointEvery) String() string {
	switch {
	case c.commands > 0 && c.bytes > 0:
		return fmt.Sprintf("%d,%dB", c.commands, c.bytes)
	case c.bytes > 0:
		return fmt.Sprintf("%dB", c.bytes)
	}
	return strconv.FormatUint(c.commands, 10)
}

func (c *checkpointEvery) Type() string { return "commands|size" }
