package sql

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/sirupsen/logrus"

	"github.com/imagodb/imago/memdb"
)

// Config configures a Server.
type Config struct {
	// Addr is the TCP address to listen on, e.g. 127.0.0.1:3306.
	Addr string
	// Database is the SQL name of the app's schema.
	Database string
	Tables   []*memdb.Table
	// SystemTables are image tables of Imago's own, served unpacked in
	// the imago schema (imago.idempotency_keys).
	SystemTables []PackedTable
	Source       Source
	// Past, when set, serves past states: AS OF and shop@N (see asof.go).
	Past PastViews
	// Log, when set, is served as imago.commands (and, with Past,
	// imago.changes).
	Log CommandLog
	// Audit, when set, finds imago.commands' entries by actor and by the
	// app's declared payload fields (a column each).
	Audit AuditIndex
	// MaxChangesCommands bounds the commands one statement's imago.changes
	// replays; 0: DefaultMaxChangesCommands.
	MaxChangesCommands int
	// Status, when set, adds rows to imago.status.
	Status func() []StatusRow
	// Reactors, when set, is the progress imago.reactors shows.
	Reactors func() []ReactorStatus
	// Replicas, when set, are the replicas imago.replicas shows.
	Replicas func() []ReplicaStatus
	// Redactions, when set, are the redactions of the log imago.redactions
	// shows.
	Redactions func() ([]RedactionRow, error)
	// Version is the Imago version reported in @@version_comment.
	Version string
	Logger  *slog.Logger

	// Users are the accounts; none: DefaultUsers.
	Users []User
	// TLS, when set, lets clients encrypt (and caching_sha2_password work).
	TLS *tls.Config
	// MaxConnections bounds logged-in client connections; 0: no bound.
	MaxConnections int
	// ConnectTimeout closes connections that have not logged in within it
	// (MySQL's connect_timeout); 0: DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxHandshakes bounds connections that have not logged in yet, apart
	// from MaxConnections; 0: DefaultMaxHandshakes.
	MaxHandshakes int
	// LoginFailures: a remote host whose logins fail (or whose handshakes
	// are aborted) this many times is refused with error 1129 for
	// LoginBlock. 0: DefaultLoginFailures; negative: never block (failed
	// logins are still logged).
	LoginFailures int
	// LoginBlock is how long a host is blocked; 0: DefaultLoginBlock.
	LoginBlock time.Duration
	// QueryTimeout bounds each statement's run time; 0: no bound (the
	// command line's default is DefaultQueryTimeout).
	QueryTimeout time.Duration
	// Statement limits, checked before GMS plans a statement (planning
	// cannot be interrupted): text bytes, items of an IN list, nesting
	// depth and nodes of the syntax tree. 0: the Default... constants;
	// negative: no limit.
	MaxStatementBytes int
	MaxInListItems    int
	MaxExprDepth      int
	MaxExprNodes      int
	// MaxAllowedPacket bounds the strings functions build (REPEAT, LPAD,
	// CONCAT, ...): larger results are NULL with warning 1301, as in MySQL;
	// 0: DefaultMaxAllowedPacket.
	MaxAllowedPacket int
	// Observer is told about every statement (metrics); may be nil.
	Observer Observer
	// SlowQuery: statements that run at least this long are logged at warn
	// level; 0: none.
	SlowQuery time.Duration
}

// Server is the read-only MySQL server over the published image.
type Server struct {
	srv    *server.Server
	engine *sqle.Engine
	ln     net.Listener
	reads  *preparedReads
	conns  *connLimit
}

// secureFilePriv points LOAD_FILE and SELECT ... INTO OUTFILE, should they get
// past the statement guard, at a directory that cannot exist (/dev/null is
// not a directory), so no file can be read or written through SQL.
const secureFilePriv = "/dev/null/imago-no-file-access"

// NewServer builds the engine and listens on cfg.Addr; Serve accepts clients.
// It refuses accounts that would leave the server open (see checkUsers).
func NewServer(cfg Config) (*Server, error) {
	if len(cfg.Users) == 0 {
		cfg.Users = DefaultUsers
	}
	if err := checkUsers(cfg.Addr, cfg.Users, cfg.TLS); err != nil {
		return nil, err
	}
	engine, app, err := newEngine(cfg)
	if err != nil {
		return nil, err
	}
	if err := installUsers(engine.Analyzer.Catalog.MySQLDb, cfg.Users, cfg.Database, SystemDatabase, PerformanceSchema); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sql: listen %s: %w", cfg.Addr, err)
	}
	var chain server.InterceptorChain
	chain.WithInterceptor(okInfo{})
	chain.WithInterceptor(mysqlErrors{})
	chain.WithInterceptor(newNamedWindows(cfg.Tables))
	chain.WithInterceptor(explainNulls{})
	chain.WithInterceptor(newReadOnlyGuard(newStatementLimits(cfg)))
	chain.WithInterceptor(newReaderGrants(cfg.Users, cfg.Database, SystemDatabase, PerformanceSchema))
	chain.WithInterceptor(asOfParams{})
	reads := newPreparedReads(app)
	chain.WithInterceptor(reads)
	chain.WithInterceptor(newConstantSelects())
	if cfg.QueryTimeout > 0 {
		chain.WithInterceptor(timeLimit{limit: cfg.QueryTimeout})
	}
	if cfg.Observer != nil || cfg.SlowQuery > 0 {
		chain.WithInterceptor(statementClock{obs: cfg.Observer, slow: cfg.SlowQuery, log: loggerOf(cfg)})
	}
	logins := newLoginGuard(cfg, loggerOf(cfg))
	conns := limitConnections(ln, cfg, logins)
	srv, err := server.NewServer(server.Config{
		Protocol: "tcp", Address: cfg.Addr, Listener: conns,
		Version: mysqlVersion(cfg.Version), TLSConfig: cfg.TLS,
		Options:                 []server.Option{chain.Option()},
		ProtocolListenerFactory: protocolListener(logins),
	}, engine, newContextFactory(cfg.Users), newSessionBuilder(cfg.Source), nil)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("sql: server: %w", err)
	}
	return &Server{srv: srv, engine: engine, ln: ln, reads: reads, conns: conns}, nil
}

// NewEngine builds the read-only GMS engine over the app's tables and the
// imago schema. Tests and embedders that do not need the network use it
// directly; it has no accounts (GMS then admits anyone).
func NewEngine(cfg Config) (*sqle.Engine, error) {
	engine, _, err := newEngine(cfg)
	return engine, err
}

func newEngine(cfg Config) (*sqle.Engine, *database, error) {
	if strings.EqualFold(cfg.Database, SystemDatabase) {
		return nil, nil, fmt.Errorf("sql: the app cannot be named %q: that schema is Imago's own", SystemDatabase)
	}
	configureGlobals(cfg)
	app := newDatabase(cfg.Database, cfg.Source, cfg.Tables)
	functions := sizedFunctionsOf(maxAllowedPacket(cfg))
	functions[waitForSeqName] = waitForSeqFunction(cfg.Source)
	p := newProvider(functions, app, newSystemDatabase(cfg), newPerformanceSchema())
	installPast(p, cfg.Past)
	a := newAnalyzer(p)
	engine := sqle.New(a, &sqle.Config{IsReadOnly: true})
	return engine, app, nil
}

// mysqlVersion is the server version clients see in the handshake and in
// @@version: the MySQL version whose dialect GMS speaks, then Imago's.
func mysqlVersion(imagoVersion string) string { return "8.0.33-imago-" + imagoVersion }

func loggerOf(cfg Config) *slog.Logger {
	if cfg.Logger == nil {
		return slog.Default()
	}
	return cfg.Logger
}

func configureGlobals(cfg Config) {
	logger := loggerOf(cfg)
	// GMS logs through the global logrus logger: a line per connection at
	// info and per failed client query at warning. Its lines go to our
	// logger; at our debug level from info, otherwise only its errors (the
	// client gets its error, and our own logs say what matters).
	logrus.SetOutput(io.Discard)
	logrus.StandardLogger().ReplaceHooks(logrus.LevelHooks{})
	logrus.AddHook(logrusHook{logger})
	logrus.SetLevel(logrus.ErrorLevel)
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		logrus.SetLevel(logrus.InfoLevel)
	}
	// GMS system variables are process-global; these are the same for every
	// server. AssignValues sets them as startup configuration does, which is
	// the only way to set variables that are read-only for clients.
	err := gsql.SystemVariables.AssignValues(map[string]any{
		"version":          mysqlVersion(cfg.Version),
		"version_comment":  "Imago " + cfg.Version + " (memory image, read-only SQL)",
		"secure_file_priv": secureFilePriv,
		// What sizedFunctions enforce (GMS's default is 1 GiB).
		"max_allowed_packet": int64(maxAllowedPacket(cfg)),
	})
	if err != nil {
		logger.Warn("cannot set system variables", "err", err)
	}
}

// logrusHook forwards go-mysql-server's logrus lines to our slog logger.
type logrusHook struct{ log *slog.Logger }

func (logrusHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h logrusHook) Fire(e *logrus.Entry) error {
	level := slog.LevelError
	switch e.Level {
	case logrus.WarnLevel:
		level = slog.LevelWarn
	case logrus.InfoLevel:
		level = slog.LevelInfo
	case logrus.DebugLevel, logrus.TraceLevel:
		level = slog.LevelDebug
	}
	attrs := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		attrs = append(attrs, k, v)
	}
	h.log.Log(context.Background(), level, "go-mysql-server: "+e.Message, attrs...)
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve accepts connections until Close.
func (s *Server) Serve() error {
	err := s.srv.Start()
	if err != nil && strings.Contains(err.Error(), "use of closed network connection") {
		return nil
	}
	return err
}

// PlannedReads counts the prepared statement executions answered by
// Imago's own read plans, without GMS's planner (see preparedReads).
func (s *Server) PlannedReads() int64 { return s.reads.planned.Load() }

// OpenConnections is the number of client connections open now.
func (s *Server) OpenConnections() int { return s.conns.Open() }

// Close stops accepting and closes every connection.
func (s *Server) Close() error { return s.srv.Close() }

// provider lists the app's database; GMS adds information_schema itself.
// Its functions take precedence over GMS's built-ins (see sizedFunctions).
type provider struct {
	dbs       map[string]gsql.Database
	functions map[string]gsql.Function
	// revision resolves the name of a past database (shop@1000), listed by
	// nothing; build false only checks the name (see asof.go).
	revision func(ctx context.Context, name string, build bool) (gsql.Database, bool, error)
	// tableFunctions: imago_diff, with past states (see diff.go).
	tableFunctions map[string]gsql.TableFunction
}

var _ gsql.TableFunctionProvider = (*provider)(nil)

// TableFunction is the table function named name (case-insensitive).
func (p *provider) TableFunction(_ *gsql.Context, name string) (gsql.TableFunction, bool) {
	f, ok := p.tableFunctions[strings.ToLower(name)]
	return f, ok
}

// WithTableFunctions is a provider with only fns as its table functions.
func (p *provider) WithTableFunctions(fns ...gsql.TableFunction) (gsql.TableFunctionProvider, error) {
	n := *p
	n.tableFunctions = map[string]gsql.TableFunction{}
	for _, f := range fns {
		n.tableFunctions[strings.ToLower(f.Name())] = f
	}
	return &n, nil
}

var _ gsql.FunctionProvider = (*provider)(nil)

func newProvider(functions map[string]gsql.Function, dbs ...*database) *provider {
	p := &provider{dbs: map[string]gsql.Database{}, functions: functions}
	for _, d := range dbs {
		p.dbs[strings.ToLower(d.name)] = d
	}
	return p
}

func (p *provider) Database(ctx *gsql.Context, name string) (gsql.Database, error) {
	if d, ok := p.dbs[strings.ToLower(name)]; ok {
		return d, nil
	}
	if p.revision != nil {
		if d, ok, err := p.revision(ctx, name, true); ok || err != nil {
			return d, err
		}
	}
	return nil, gsql.ErrDatabaseNotFound.New(name)
}

func (p *provider) Function(_ *gsql.Context, name string) (gsql.Function, bool) {
	f, ok := p.functions[strings.ToLower(name)]
	return f, ok
}

func (p *provider) HasDatabase(ctx *gsql.Context, name string) bool {
	_, ok := p.dbs[strings.ToLower(name)]
	if !ok && p.revision != nil {
		_, ok, _ = p.revision(ctx, name, false)
	}
	return ok
}

func (p *provider) AllDatabases(*gsql.Context) []gsql.Database {
	all := make([]gsql.Database, 0, len(p.dbs))
	for _, d := range p.dbs {
		all = append(all, d)
	}
	return all
}
