// Package server is the one place that starts an Imago process: from a
// Config it checks every setting and policy first, then creates the data
// directory, opens the database and starts the MySQL, HTTP, metrics and
// pprof servers and the reactors, and stops them in order.
//
// Guarantees:
//   - Nothing is created, opened or bound before the whole Config is
//     checked: a refused start leaves no directory and holds no port, and
//     its error names the setting (as its command-line flag) and what to do.
//   - A data directory is served only by the app it belongs to.
//   - A graceful stop answers the HTTP requests in flight, writes a
//     checkpoint if asked, syncs and closes the log, then the SQL server.
package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/gcpolicy"
	"github.com/imagodb/imago/reactors"
	imagosql "github.com/imagodb/imago/sql"
	"github.com/imagodb/imago/writer"
)

// DefaultQueryTimeout is the command line's default --mysql-query-timeout
// (see imagosql.DefaultQueryTimeout for the choice).
const DefaultQueryTimeout = imagosql.DefaultQueryTimeout

// Config is what a process serves and how. Settings are named, in errors,
// by the command-line flags that set them.
type Config struct {
	App    *imago.App
	Data   string // --data
	Logger *slog.Logger

	HTTPAddr       string   // --http-addr
	HTTPTokensFile string   // --http-tokens; required unless HTTPAddr is loopback
	HTTPOrigins    []string // --http-allowed-origins: web pages that may call the API

	MySQLAddr      string        // --mysql-addr
	MySQLUser      string        // --mysql-user: the admin account
	MySQLPassword  string        // --mysql-password
	MySQLUsersFile string        // --mysql-users-file: more read-only accounts
	TLSCert        string        // --tls-cert
	TLSKey         string        // --tls-key
	MaxConnections int           // --mysql-max-connections; 0: no limit
	QueryTimeout   time.Duration // --mysql-query-timeout (default DefaultQueryTimeout); 0: no limit
	SlowQuery      time.Duration // --slow-query; 0: none logged
	PprofAddr      string        // --pprof-addr; empty: off

	Durability           writer.Durability // --durability
	CheckpointEvery      uint64            // --checkpoint-every (commands)
	CheckpointEveryBytes uint64            // --checkpoint-every (log size)
	CheckpointInterval   time.Duration     // --checkpoint-interval
	CheckpointsKeep      int               // --checkpoints-keep
	CheckpointShare      float64           // --checkpoint-share
	CheckpointOnStop     bool              // --checkpoint-on-stop
	TruncateLog          bool              // --truncate-log-before-checkpoint
	IdempotencyWindow    time.Duration     // --idempotency-window
	AsOfCacheBytes       int64             // --as-of-cache; 0: imago.DefaultAsOfCacheBytes

	// GC is the garbage collector's policy while serving (--gc-percent,
	// --memory-limit), applied by Start and undone when the server stops;
	// nil leaves the runtime's settings as they are (tests, embedders).
	GC *gcpolicy.Policy

	// Reactors are the app's, built from its own flags (imago.App.Flags).
	Reactors []reactors.Reactor

	// ReplicaOf, when set, serves a read-only replica of that primary (its
	// HTTP API's URL) instead of a primary: see package replica.
	ReplicaOf    string        // --primary
	ReplicaToken string        // --token: a primary's token with the log and checkpoints scopes
	ReplicaName  string        // --name: this replica's name, sent to the primary
	MaxLag       time.Duration // --max-lag: /readyz is 503 while the replica is further behind
	// ReplicaSlotTTL is how long a replica that left holds the primary's
	// log truncation back (--replica-slot-ttl; 0: imago.SlotTTL).
	ReplicaSlotTTL time.Duration
}

// checked is a Config whose files are read and whose policies hold.
type checked struct {
	Config
	tokens *api.Tokens
	sql    imagosql.Config
}

// check validates every setting, reading the files they name, without
// creating or binding anything.
func (c Config) check() (*checked, error) {
	if c.App == nil {
		return nil, errors.New("server: no app")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if err := c.checkNumbers(); err != nil {
		return nil, err
	}
	addrs := map[string]string{"--http-addr": c.HTTPAddr, "--mysql-addr": c.MySQLAddr}
	if c.PprofAddr != "" {
		addrs["--pprof-addr"] = c.PprofAddr
	}
	for flag, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%s %q: want host:port, e.g. 127.0.0.1:8080: %w", flag, addr, err)
		}
	}
	k := &checked{Config: c}
	registry, err := commands.NewRegistry(c.App.Commands...)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", c.App.Name, err)
	}
	if c.HTTPTokensFile != "" {
		if k.tokens, err = api.LoadTokens(c.HTTPTokensFile, registry); err != nil {
			return nil, fmt.Errorf("--http-tokens: %w", err)
		}
	} else if !imagosql.IsLoopback(c.HTTPAddr) {
		return nil, fmt.Errorf("--http-addr %s can be reached from other hosts and there are no tokens: anyone could write; give --http-tokens FILE (lines of <token> <actor> [commands]) or listen on a loopback address such as 127.0.0.1", c.HTTPAddr)
	}
	if k.sql, err = c.mysqlConfig(); err != nil {
		return nil, err
	}
	if err := imagosql.CheckAccounts(k.sql); err != nil {
		return nil, err
	}
	if c.ReplicaOf != "" && len(c.Reactors) > 0 {
		return nil, fmt.Errorf("--primary: a replica runs no reactors (its primary does); drop the reactors' flags")
	}
	if err := imago.CheckDataDir(c.Data, c.App); err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	return k, nil
}

// checkNumbers refuses settings out of their range.
func (c Config) checkNumbers() error {
	switch {
	case c.CheckpointsKeep < 1:
		return fmt.Errorf("--checkpoints-keep %d: keep at least 1", c.CheckpointsKeep)
	case c.IdempotencyWindow <= 0:
		return fmt.Errorf("--idempotency-window %v: want a positive duration", c.IdempotencyWindow)
	case c.CheckpointShare <= 0 || c.CheckpointShare > 1:
		return fmt.Errorf("--checkpoint-share %g: want a share of the time above 0 and at most 1", c.CheckpointShare)
	case c.MaxConnections < 0:
		return fmt.Errorf("--mysql-max-connections %d: want 0 (no limit) or more", c.MaxConnections)
	case c.QueryTimeout < 0 || c.SlowQuery < 0 || c.CheckpointInterval < 0:
		return errors.New("--mysql-query-timeout, --slow-query and --checkpoint-interval take durations of 0 or more")
	case c.Data == "":
		return errors.New("--data: give a data directory")
	}
	if c.GC != nil {
		if err := c.GC.Check(); err != nil {
			return fmt.Errorf("--gc-percent, --memory-limit: %w", err)
		}
	}
	return nil
}

// mysqlConfig is the MySQL server's network and account configuration.
func (c Config) mysqlConfig() (imagosql.Config, error) {
	cfg := imagosql.Config{Addr: c.MySQLAddr, MaxConnections: c.MaxConnections, QueryTimeout: c.QueryTimeout}
	cfg.Users = []imagosql.User{{Name: c.MySQLUser, Password: c.MySQLPassword, Admin: true}}
	if c.MySQLUsersFile != "" {
		more, err := imagosql.LoadUsers(c.MySQLUsersFile)
		if err != nil {
			return cfg, fmt.Errorf("--mysql-users-file: %w", err)
		}
		cfg.Users = append(cfg.Users, more...)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return cfg, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return cfg, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return cfg, nil
}
