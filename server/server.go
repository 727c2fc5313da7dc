package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/metrics"
	"github.com/imagodb/imago/replica"
	imagosql "github.com/imagodb/imago/sql"
)

// Server is a started process: the database and the servers over it.
type Server struct {
	cfg       *checked
	started   time.Time
	db        *imago.DB        // a primary's
	replica   *replica.Replica // or a replica's
	follow    chan error       // the replica's follower: its end
	sql       *imagosql.Server
	http      *api.Server
	httpLn    net.Listener
	pprof     *http.Server
	stopping  chan struct{} // closed when the HTTP server shuts down
	restoreGC func()        // undoes the GC policy Start applied
	errs      chan error    // a server that stopped serving
}

// Start checks cfg, then opens the database and starts every server. On
// an error nothing it started is left running.
func Start(cfg Config) (*Server, error) {
	k, err := cfg.check()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: k, started: time.Now(), stopping: make(chan struct{}), errs: make(chan error, 3), restoreGC: func() {}}
	if k.GC != nil {
		// Before the database opens: recovery's pause restores this policy.
		s.restoreGC = k.GC.Apply()
	}
	m := metrics.New()
	if err := s.open(m); err != nil {
		s.restoreGC()
		return nil, err
	}
	if err := s.listen(m); err != nil {
		return nil, errors.Join(err, s.closeAll())
	}
	go func() { s.errs <- s.sql.Serve() }()
	go func() { s.errs <- s.http.Serve(s.httpLn) }()
	db := s.DB()
	rec, restored := db.Recovery(), db.Restored()
	k.Logger.Info("imago started", "app", k.App.Name, "role", s.role(), "http", s.httpLn.Addr().String(), "mysql", s.sql.Addr(),
		"data", k.Data, "durability", k.Durability.String(), "gc", s.gcPolicy(), "recovered_seq", db.View().Seq,
		"checkpoint_seq", restored.Seq, "checkpoint_rows", restored.Rows, "checkpoint_ms", restored.Duration.Milliseconds(),
		"recovered_commands", rec.Commands, "skipped_commands", rec.Skipped, "recovery_ms", (restored.Duration + rec.Duration).Milliseconds())
	return s, nil
}

// open opens the database with the writer's metrics: a primary's, or a
// replica's (bootstrapped from its primary when new).
func (s *Server) open(m *metrics.Metrics) error {
	c := s.cfg
	opts := imago.Options{Durability: c.Durability, Logger: c.Logger, Observer: m, Reactors: c.Reactors,
		CheckpointEvery: c.CheckpointEvery, CheckpointEveryBytes: c.CheckpointEveryBytes, CheckpointInterval: c.CheckpointInterval,
		CheckpointsKeep: c.CheckpointsKeep, CheckpointShare: c.CheckpointShare, TruncateLog: c.TruncateLog, IdempotencyWindow: c.IdempotencyWindow,
		AsOfCacheBytes: c.AsOfCacheBytes, ReplicaSlotTTL: c.ReplicaSlotTTL}
	if c.ReplicaOf == "" {
		db, err := imago.Open(c.Data, c.App, opts)
		s.db = db
		return err
	}
	rep, err := replica.Open(context.Background(), replica.Config{Primary: c.ReplicaOf, Token: c.ReplicaToken, Name: c.ReplicaName,
		Data: c.Data, App: c.App, Options: opts, Logger: c.Logger})
	s.replica = rep
	return err
}

// DB is the served database (a replica's: the one open now).
func (s *Server) DB() *imago.DB {
	if s.replica != nil {
		return s.replica.DB()
	}
	return s.db
}

// Replica is the replica this process serves (nil: a primary).
func (s *Server) Replica() *replica.Replica { return s.replica }

func (s *Server) role() string {
	if s.replica != nil {
		return "replica"
	}
	return "primary"
}

// listen binds the MySQL, HTTP and pprof listeners.
func (s *Server) listen(m *metrics.Metrics) error {
	c, db := s.cfg, current{s.DB}
	sqlCfg := c.sql
	sqlCfg.Database, sqlCfg.Tables, sqlCfg.Source, sqlCfg.Log = c.App.Name, db.Tables(), db, envelopeLog{s.DB}
	sqlCfg.Past, sqlCfg.Audit = db, db
	sqlCfg.SystemTables = []imagosql.PackedTable{{Name: "idempotency_keys", Columns: applier.IdempotencyKeyColumns,
		Stored: applier.IdempotencyKeys, Unpack: applier.UnpackIdempotencyKeys}}
	sqlCfg.Version, sqlCfg.Logger = imago.Version, c.Logger
	sqlCfg.Status, sqlCfg.Reactors, sqlCfg.Replicas, sqlCfg.Redactions = s.statusRows, s.reactorRows, s.replicaSlots, s.redactionRows
	sqlCfg.Observer, sqlCfg.SlowQuery = m, c.SlowQuery
	var err error
	if s.sql, err = imagosql.NewServer(sqlCfg); err != nil {
		return fmt.Errorf("--mysql-addr: %w", err)
	}
	m.Watch(db, s.sql)
	var redact api.Redactor
	if s.replica == nil {
		redact = s.redact
	}
	apiCfg := api.Config{Logger: c.Logger, Metrics: m.Handler(), Shutdown: s.stopping, Tokens: c.tokens,
		Redact: redact, RedactionEpoch: func() uint64 { return s.DB().RedactionEpoch() },
		AllowedHosts: namedHost(c.HTTPAddr), AllowedOrigins: c.HTTPOrigins, Checkpoints: s.checkpoints, Ready: s.ready, Replicas: current{s.DB}, ImageAt: s.imageAt,
		Checkpoint: func() (api.CheckpointResult, error) {
			info, err := s.DB().Checkpoint()
			return api.CheckpointResult{Seq: info.Seq, File: info.Path, Rows: info.Rows, Bytes: info.Bytes, Ms: info.Duration.Milliseconds()}, err
		},
		Import: func(ctx context.Context, items []commands.Import, importer string) ([]commands.Result, error) {
			return s.DB().Import(ctx, items, importer)
		}}
	handler, err := api.NewHandler(db, apiCfg)
	if err != nil {
		return err
	}
	if s.httpLn, err = net.Listen("tcp", c.HTTPAddr); err != nil {
		return fmt.Errorf("--http-addr: %w", err)
	}
	s.http = api.NewServer(handler, apiCfg, &http.Server{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute})
	s.http.HTTP.RegisterOnShutdown(func() { close(s.stopping) })
	if c.PprofAddr != "" {
		if err := s.servePprof(); err != nil {
			return errors.Join(err, s.httpLn.Close())
		}
	}
	return nil
}

// namedHost is the host of addr when it is a name, not an address: the
// API then also answers requests addressed to it (see api.Config).
func namedHost(addr string) []string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" || net.ParseIP(host) != nil {
		return nil
	}
	return []string{host}
}

// servePprof serves net/http/pprof's endpoints on their own listener, so
// that they are never reachable through the API's address.
func (s *Server) servePprof() error {
	ln, err := net.Listen("tcp", s.cfg.PprofAddr)
	if err != nil {
		return fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.pprof = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.pprof.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("pprof server stopped", "err", err)
		}
	}()
	s.cfg.Logger.Info("pprof listening", "addr", ln.Addr().String())
	return nil
}

// HTTPAddr is the address the HTTP API listens on.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// MySQLAddr is the address the MySQL server listens on.
func (s *Server) MySQLAddr() string { return s.sql.Addr() }

// Run serves until ctx ends (a signal: a graceful stop) or a server fails,
// then stops everything in order.
func (s *Server) Run(ctx context.Context) error {
	stopFollowing := func() {}
	if s.replica != nil {
		follow, stop := context.WithCancel(ctx)
		stopFollowing = stop
		s.follow = make(chan error, 1)
		go func() { s.follow <- s.replica.Run(follow) }()
	}
	var serveErr error
	select {
	case <-ctx.Done():
		s.cfg.Logger.Info("imago stopping", "reason", context.Cause(ctx).Error())
	case serveErr = <-s.errs:
		s.cfg.Logger.Error("a server failed; stopping", "err", serveErr)
	}
	stopFollowing() // before stop waits for the follower
	return errors.Join(serveErr, s.stop(s.cfg.CheckpointOnStop && serveErr == nil))
}

// stop stops accepting HTTP requests and waits for those in flight (their
// commands finish), writes a checkpoint if asked and there is anything newer
// than the newest one, closes the database (the batch in flight is applied
// and synced) and then the SQL server.
func (s *Server) stop(checkpoint bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	herr := s.http.Shutdown(ctx)
	if s.follow != nil {
		<-s.follow // Run's context ended: the follower stops applying
	}
	db := s.DB()
	if seq, _ := db.NewestCheckpoint(); checkpoint && db.Err() == nil && db.View().Seq > seq {
		if _, err := db.Checkpoint(); err != nil {
			s.cfg.Logger.Error("checkpoint at stop failed; the next start replays the log", "err", err)
		}
	}
	if err := errors.Join(herr, s.closeAll()); err != nil {
		return err
	}
	s.cfg.Logger.Info("imago stopped", "seq", db.View().Seq)
	return nil
}

// closeAll closes what Start opened, the database before the SQL server.
func (s *Server) closeAll() error {
	var errs []error
	if s.pprof != nil {
		errs = append(errs, s.pprof.Close())
	}
	switch {
	case s.replica != nil:
		errs = append(errs, s.replica.Close())
	case s.db != nil:
		errs = append(errs, s.db.Close())
	}
	if s.sql != nil {
		errs = append(errs, s.sql.Close())
	}
	s.restoreGC()
	return errors.Join(errs...)
}

// reactorRows are the rows of imago.reactors.
func (s *Server) reactorRows() []imagosql.ReactorStatus {
	var rows []imagosql.ReactorStatus
	for _, st := range s.DB().Reactors() {
		rows = append(rows, imagosql.ReactorStatus{Name: st.Name, Commands: st.Commands, Cursor: st.Cursor, Lag: st.Lag,
			Delivered: st.Delivered, Failures: st.Failures, LastError: st.LastError, LastErrorTime: st.LastErrorTime})
	}
	return rows
}

// statusRows are the rows of imago.status that describe this process.
func (s *Server) statusRows() []imagosql.StatusRow {
	db := s.DB()
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
	rows := []imagosql.StatusRow{
		{Name: "version", Value: imago.Version},
		{Name: "app", Value: db.App().Name},
		{Name: "durability", Value: s.cfg.Durability.String()},
		{Name: "accepting_writes", Value: accepting},
		{Name: "started_at", Value: s.started.UTC().Format(time.RFC3339Nano)},
		{Name: "uptime_s", Value: strconv.FormatInt(int64(time.Since(s.started).Seconds()), 10)},
		{Name: "recovered_from_checkpoint_seq", Value: strconv.FormatUint(restored.Seq, 10)},
		{Name: "recovered_commands", Value: strconv.FormatUint(rec.Commands, 10)},
		{Name: "skipped_commands", Value: strconv.FormatUint(rec.Skipped, 10)},
		{Name: "recovery_ms", Value: strconv.FormatInt((restored.Duration + rec.Duration).Milliseconds(), 10)},
		{Name: "checkpoint_seq", Value: strconv.FormatUint(ckptSeq, 10)},
		{Name: "checkpoint_at", Value: ckptAtText},
		{Name: "log_first_seq", Value: strconv.FormatUint(db.Log().FirstSeq(), 10)},
		{Name: "role", Value: s.role()},
		{Name: "query_timeout", Value: queryTimeout(s.cfg.QueryTimeout)},
		{Name: "gc_policy", Value: s.gcPolicy()},
	}
	if keys, bytes, err := applier.KeysHeld(db.View().Snapshot); err == nil {
		rows = append(rows, imagosql.StatusRow{Name: "idempotency_keys", Value: strconv.FormatInt(keys, 10)},
			imagosql.StatusRow{Name: "idempotency_key_bytes", Value: strconv.FormatInt(bytes, 10)})
	}
	rows = append(rows, s.asOfStatusRows()...)
	return append(rows, s.replicaRows()...)
}

// gcPolicy says how the collector is set, and whether by this server.
func (s *Server) gcPolicy() string {
	if s.cfg.GC == nil {
		return "the runtime's (GOGC, GOMEMLIMIT)"
	}
	return s.cfg.GC.String()
}

// queryTimeout is --mysql-query-timeout as imago.status shows it.
func queryTimeout(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	return d.String()
}

// Logger is the process's logger.
func (s *Server) Logger() *slog.Logger { return s.cfg.Logger }
