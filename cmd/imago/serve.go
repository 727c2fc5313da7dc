package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/metrics"
	imagosql "github.com/imagodb/imago/sql"
)

type serveFlags struct {
	data       string
	mysqlAddr  string
	httpAddr   string
	durability string
	app        string
	logFormat  string
	logLevel   string
	slowQuery  time.Duration

	mysqlUser      string
	mysqlPassword  string
	mysqlUsersFile string
	tlsCert        string
	tlsKey         string
	maxConns       int
	queryTimeout   time.Duration
	pprofAddr      string

	checkpointEvery    checkpointEvery
	checkpointInterval time.Duration
	checkpointsKeep    int
	truncateLog        bool
	checkpointShare    float64
	idempotencyWindow  time.Duration
	httpTokens         string
	checkpointOnStop   bool
	webhookURL         string
	reorderBelow       int64
}

func serveCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve an application: HTTP write API and read-only MySQL",
		Long: `Serve opens the data directory, replays the command log into memory and
serves the application: commands through the HTTP write API, SQL reads over
the MySQL protocol. Every flag can also be set as IMAGO_<FLAG>, e.g.
IMAGO_MYSQL_ADDR=127.0.0.1:3307.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			return serve(f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "./imago-data", "data directory (created if missing)")
	fl.StringVar(&f.mysqlAddr, "mysql-addr", "127.0.0.1:3306", "address of the read-only MySQL server")
	fl.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "address of the HTTP write API")
	fl.StringVar(&f.httpTokens, "http-tokens", "", "file of bearer tokens, one per line: <token> <actor> [command,command,...]; required unless --http-addr is a loopback address")
	fl.StringVar(&f.durability, "durability", "always", "always | interval=<duration> | none")
	fl.StringVar(&f.app, "app", "shop", "application to serve: "+appNames())
	fl.StringVar(&f.logFormat, "log-format", "text", "text | json")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug | info | warn | error")
	fl.DurationVar(&f.slowQuery, "slow-query", 0, "log SQL statements that run at least this long, e.g. 500ms (0: none)")
	fl.StringVar(&f.mysqlUser, "mysql-user", "root", "MySQL account with every (read-only) privilege")
	fl.StringVar(&f.mysqlPassword, "mysql-password", "", "its password; required unless --mysql-addr is a loopback address")
	fl.StringVar(&f.mysqlUsersFile, "mysql-users-file", "", `more read-only accounts, one per line: "<user> <password> [mysql_native_password|caching_sha2_password]"`)
	fl.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate for MySQL TLS (with --tls-key)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key for MySQL TLS (with --tls-cert)")
	fl.IntVar(&f.maxConns, "mysql-max-connections", 151, "most MySQL connections open at once (0: no limit)")
	fl.DurationVar(&f.queryTimeout, "mysql-query-timeout", 0, "longest a SQL statement may run, e.g. 30s (0: no limit)")
	fl.StringVar(&f.pprofAddr, "pprof-addr", "", "address for Go's pprof endpoints, e.g. 127.0.0.1:6060 (empty: off)")
	fl.Var(&f.checkpointEvery, "checkpoint-every", "write a checkpoint after N commands since the last one, or when the log grew by a size (256MiB), or whichever comes first (100000,256MiB); 0: neither")
	fl.DurationVar(&f.checkpointInterval, "checkpoint-interval", time.Hour, "write a checkpoint this often while there are new commands (0: not by time)")
	fl.IntVar(&f.checkpointsKeep, "checkpoints-keep", 3, "checkpoint files kept (older ones are removed once a newer one is complete)")
	fl.Float64Var(&f.checkpointShare, "checkpoint-share", 0.25, "the share of the time a checkpoint works while commands are being written, so that writes slow down little (1: full speed)")
	fl.DurationVar(&f.idempotencyWindow, "idempotency-window", commands.DefaultIdempotencyWindow, "how long, in command time, an Idempotency-Key is remembered")
	fl.BoolVar(&f.truncateLog, "truncate-log-before-checkpoint", false, "after each checkpoint, remove the log entries up to the oldest checkpoint kept (the history before it is lost; a projection change can then not rebuild from the log)")
	fl.StringVar(&f.webhookURL, "webhook-url", "", "shop: POST a JSON notification to this URL when an order is paid or shipped (retried until it answers 2xx)")
	fl.Int64Var(&f.reorderBelow, "reorder-below", 0, "shop: submit a restock (back to twice N) for a product whose stock falls below N after an order (0: off)")
	fl.BoolVar(&f.checkpointOnStop, "checkpoint-on-stop", true, "write a checkpoint at a graceful stop, so the next start replays nothing")
	return cmd
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

// loggedError is an error already written to the log: main exits with
// status 1 without printing it again.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

func serve(f serveFlags) (err error) {
	started := time.Now()
	logger, err := newLogger(f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	up := false
	defer func() {
		if err != nil && !up {
			logger.Error("imago refused to start", "err", err)
			err = loggedError{err}
		}
	}()
	newApp, ok := apps[f.app]
	if !ok {
		return fmt.Errorf("--app %q: no such application; choose one of %s", f.app, appNames())
	}
	durability, err := commands.ParseDurability(f.durability)
	if err != nil {
		return fmt.Errorf("--durability: %w", err)
	}
	app := newApp()
	var tokens *api.Tokens
	if f.httpTokens != "" {
		registry, err := commands.NewRegistry(app.Commands...)
		if err != nil {
			return err
		}
		if tokens, err = api.LoadTokens(f.httpTokens, registry); err != nil {
			return fmt.Errorf("--http-tokens: %w", err)
		}
	}
	m := metrics.New()
	if f.checkpointsKeep < 1 {
		return fmt.Errorf("--checkpoints-keep %d: keep at least 1", f.checkpointsKeep)
	}
	if f.idempotencyWindow <= 0 {
		return fmt.Errorf("--idempotency-window %v: want a positive duration", f.idempotencyWindow)
	}
	if f.checkpointShare <= 0 || f.checkpointShare > 1 {
		return fmt.Errorf("--checkpoint-share %g: want a share of the time above 0 and at most 1", f.checkpointShare)
	}
	reactors, err := shopReactors(f)
	if err != nil {
		return err
	}
	db, err := imago.Open(f.data, app, imago.Options{Durability: durability, Logger: logger, Observer: m, Reactors: reactors,
		CheckpointEvery: f.checkpointEvery.commands, CheckpointEveryBytes: f.checkpointEvery.bytes, CheckpointInterval: f.checkpointInterval, CheckpointsKeep: f.checkpointsKeep, CheckpointShare: f.checkpointShare, TruncateLog: f.truncateLog, IdempotencyWindow: f.idempotencyWindow})
	if err != nil {
		return err
	}
	sqlCfg, err := mysqlConfig(f)
	if err != nil {
		db.Close()
		return err
	}
	sqlCfg.Database, sqlCfg.Tables, sqlCfg.Source, sqlCfg.Log = app.Name, db.Tables(), db, db.Log()
	sqlCfg.SystemTables = []*memdb.Table{commands.IdempotencyKeys.Table()}
	sqlCfg.Version, sqlCfg.Logger = imago.Version, logger
	sqlCfg.Status, sqlCfg.Reactors = statusRows(db, durability, started), db.Reactors
	sqlCfg.Observer, sqlCfg.SlowQuery = m, f.slowQuery
	sqlSrv, err := imagosql.NewServer(sqlCfg)
	if err != nil {
		db.Close()
		return err
	}
	m.Watch(db, sqlSrv)
	stopping := make(chan struct{}) // closed when the HTTP server shuts down
	handler, err := api.NewHandler(db, api.Config{Logger: logger, Metrics: m.Handler(), Shutdown: stopping, Tokens: tokens,
		Checkpoint: func() (api.CheckpointResult, error) {
			info, err := db.Checkpoint()
			return api.CheckpointResult{Seq: info.Seq, File: info.Path, Rows: info.Rows, Bytes: info.Bytes, Ms: info.Duration.Milliseconds()}, err
		}})
	if err != nil {
		return errors.Join(err, sqlSrv.Close(), db.Close())
	}
	httpLn, err := net.Listen("tcp", f.httpAddr)
	if err != nil {
		return errors.Join(fmt.Errorf("--http-addr: %w", err), sqlSrv.Close(), db.Close())
	}
	if ip := httpLn.Addr().(*net.TCPAddr).IP; tokens == nil && !ip.IsLoopback() {
		err := fmt.Errorf("--http-addr %s listens on %s, which other hosts can reach, and there are no tokens: anyone could write; give --http-tokens FILE (lines of <token> <actor> [commands]) or listen on a loopback address such as 127.0.0.1", f.httpAddr, ip)
		return errors.Join(err, httpLn.Close(), sqlSrv.Close(), db.Close())
	}
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	httpSrv.RegisterOnShutdown(func() { close(stopping) })

	if f.pprofAddr != "" {
		if err := servePprof(f.pprofAddr, logger); err != nil {
			return errors.Join(err, sqlSrv.Close(), db.Close())
		}
	}
	// Signals are caught before the startup line: whoever waits for it may
	// send one at once, and it must stop the server gracefully.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	errs := make(chan error, 2)
	go func() { errs <- sqlSrv.Serve() }()
	go func() { errs <- httpSrv.Serve(httpLn) }()
	up = true
	rec, restored := db.Recovery(), db.Restored()
	logger.Info("imago started", "app", app.Name, "http", httpLn.Addr().String(), "mysql", sqlSrv.Addr(),
		"data", f.data, "durability", durability.String(), "recovered_seq", db.View().Seq,
		"checkpoint_seq", restored.Seq, "checkpoint_rows", restored.Rows, "checkpoint_ms", restored.Duration.Milliseconds(),
		"recovered_commands", rec.Commands, "skipped_commands", rec.Skipped, "recovery_ms", (restored.Duration + rec.Duration).Milliseconds())

	var serveErr error
	select {
	case sig := <-stop:
		logger.Info("imago stopping", "signal", sig.String())
	case serveErr = <-errs:
		logger.Error("a server failed; stopping", "err", serveErr)
	}
	return errors.Join(serveErr, shutdown(logger, httpSrv, sqlSrv, db, f.checkpointOnStop && serveErr == nil))
}

// shopReactors are the shop's reactors the flags ask for.
func shopReactors(f serveFlags) ([]commands.Reactor, error) {
	var reactors []commands.Reactor
	if f.webhookURL != "" {
		if err := shop.CheckWebhookURL(f.webhookURL); err != nil {
			return nil, fmt.Errorf("--webhook-url: %w", err)
		}
		reactors = append(reactors, shop.WebhookReactor(f.webhookURL, &http.Client{Timeout: 10 * time.Second}))
	}
	if f.reorderBelow < 0 {
		return nil, fmt.Errorf("--reorder-below %d: want a stock level of at least 1 (0: off)", f.reorderBelow)
	}
	if f.reorderBelow > 0 {
		reactors = append(reactors, shop.ReorderReactor(f.reorderBelow))
	}
	if len(reactors) > 0 && f.app != "shop" {
		return nil, fmt.Errorf("--webhook-url and --reorder-below are the shop's reactors; --app %s has none", f.app)
	}
	return reactors, nil
}

// servePprof serves net/http/pprof's endpoints on their own listener, so
// that they are never reachable through the API's address.
func servePprof(addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		if err := srv.Serve(ln); err != nil {
			logger.Error("pprof server stopped", "err", err)
		}
	}()
	logger.Info("pprof listening", "addr", ln.Addr().String())
	return nil
}

// mysqlConfig is the MySQL server's network and account configuration.
func mysqlConfig(f serveFlags) (imagosql.Config, error) {
	cfg := imagosql.Config{Addr: f.mysqlAddr, MaxConnections: f.maxConns, QueryTimeout: f.queryTimeout}
	cfg.Users = []imagosql.User{{Name: f.mysqlUser, Password: f.mysqlPassword, Admin: true}}
	if f.mysqlUsersFile != "" {
		more, err := imagosql.LoadUsers(f.mysqlUsersFile)
		if err != nil {
			return cfg, fmt.Errorf("--mysql-users-file: %w", err)
		}
		cfg.Users = append(cfg.Users, more...)
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return cfg, fmt.Errorf("--tls-cert and --tls-key go together: give both or neither")
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return cfg, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return cfg, nil
}

// statusRows are the rows of imago.status that describe this process.
func statusRows(db *imago.DB, durability commands.Durability, started time.Time) func() []imagosql.StatusRow {
	return func() []imagosql.StatusRow {
		rec, restored := db.Recovery(), db.Restored()
		accepting := "yes"
		if err := db.Err(); err != nil {
			accepting = "no: " + err.Error()
		}
		ckptSeq, ckptAt := db.NewestCheckpoint()
		ckptAtText := ""
		if ckptSeq > 0 {
			ckptAtText = ckptAt.Format(time.RFC3339Nano)
		}
		return []imagosql.StatusRow{
			{Name: "version", Value: imago.Version},
			{Name: "app", Value: db.App().Name},
			{Name: "durability", Value: durability.String()},
			{Name: "accepting_writes", Value: accepting},
			{Name: "started_at", Value: started.UTC().Format(time.RFC3339Nano)},
			{Name: "uptime_s", Value: strconv.FormatInt(int64(time.Since(started).Seconds()), 10)},
			{Name: "recovered_from_checkpoint_seq", Value: strconv.FormatUint(restored.Seq, 10)},
			{Name: "recovered_commands", Value: strconv.FormatUint(rec.Commands, 10)},
			{Name: "skipped_commands", Value: strconv.FormatUint(rec.Skipped, 10)},
			{Name: "recovery_ms", Value: strconv.FormatInt((restored.Duration + rec.Duration).Milliseconds(), 10)},
			{Name: "checkpoint_seq", Value: strconv.FormatUint(ckptSeq, 10)},
			{Name: "checkpoint_at", Value: ckptAtText},
			{Name: "log_first_seq", Value: strconv.FormatUint(db.Log().FirstSeq(), 10)},
		}
	}
}

// shutdown stops accepting HTTP requests and waits for those in flight (their
// commands finish), writes a checkpoint if asked and there is anything newer
// than the newest one, closes the database (the batch in flight is applied
// and synced) and then the SQL server.
func shutdown(logger *slog.Logger, httpSrv *http.Server, sqlSrv *imagosql.Server, db *imago.DB, checkpoint bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	herr := httpSrv.Shutdown(ctx)
	if seq, _ := db.NewestCheckpoint(); checkpoint && db.Err() == nil && db.View().Seq > seq {
		if _, err := db.Checkpoint(); err != nil {
			logger.Error("checkpoint at stop failed; the next start replays the log", "err", err)
		}
	}
	derr := db.Close()
	serr := sqlSrv.Close()
	if err := errors.Join(herr, derr, serr); err != nil {
		return err
	}
	logger.Info("imago stopped", "seq", db.View().Seq)
	return nil
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
