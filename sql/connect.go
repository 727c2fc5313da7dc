package sql

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
)

// Defaults of the connection limits (see Config).
const (
	// DefaultConnectTimeout is MySQL's connect_timeout.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxHandshakes bounds connections that have not logged in yet:
	// each costs a goroutine and a few KiB until its connect timeout.
	DefaultMaxHandshakes = 1000
	// DefaultLoginFailures and DefaultLoginBlock: a host whose logins fail
	// (or whose handshakes are aborted) this many times is refused for
	// DefaultLoginBlock.
	DefaultLoginFailures = 10
	DefaultLoginBlock    = 5 * time.Minute
)

// connLimit is the server's listener. A connection is in the handshake
// until it has logged in, then authenticated:
//   - Only authenticated connections count against max (0: no bound), so
//     that sockets that never log in cannot take the slots of accounts
//     that do. The one beyond max is refused with MySQL's "Too many
//     connections" (1040) once it has logged in.
//   - Connections in the handshake are bounded separately (maxHandshakes)
//     and closed after connectTimeout, like MySQL's connect_timeout: the
//     deadline covers TLS, the handshake and authentication.
//   - Hosts blocked by the loginGuard are refused with 1129 before the
//     handshake.
//
// Refusals are sent as the server's first packet, as MySQL does (the MySQL
// library under GMS closes such connections without a word, which clients
// report as a lost connection, or makes them wait).
type connLimit struct {
	net.Listener
	max, maxHandshakes int
	connectTimeout     time.Duration
	logins             *loginGuard
	mu                 sync.Mutex
	open, handshaking  int
}

func limitConnections(ln net.Listener, cfg Config, logins *loginGuard) *connLimit {
	l := &connLimit{Listener: ln, max: cfg.MaxConnections, maxHandshakes: cfg.MaxHandshakes,
		connectTimeout: cfg.ConnectTimeout, logins: logins}
	if l.maxHandshakes <= 0 {
		l.maxHandshakes = DefaultMaxHandshakes
	}
	if l.connectTimeout <= 0 {
		l.connectTimeout = DefaultConnectTimeout
	}
	return l
}

// Open is the number of authenticated connections open now.
func (l *connLimit) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := l.logins.check(hostOf(c.RemoteAddr())); err != nil {
			go refuseConnection(c, err)
			continue
		}
		if !l.admit() {
			go refuseConnection(c, mysql.NewSQLError(mysql.ERConCount, "08004",
				"Too many connections: %d are still logging in", l.maxHandshakes))
			continue
		}
		// Cleared once logged in (authenticated); the MySQL library's own
		// read timeout would also cut idle authenticated sessions.
		_ = c.SetDeadline(time.Now().Add(l.connectTimeout))
		return &limitedConn{Conn: c, l: l}, nil
	}
}

func (l *connLimit) admit() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.handshaking >= l.maxHandshakes {
		return false
	}
	l.handshaking++
	return true
}

// errTooMany is the refusal of a login beyond max.
func (l *connLimit) errTooMany() error {
	return mysql.NewSQLError(mysql.ERConCount, "08004",
		"Too many connections: the limit is %d (--mysql-max-connections)", l.max)
}

// refuseConnection sends err as the server's first packet and closes c.
func refuseConnection(c net.Conn, err error) {
	defer c.Close()
	var se *mysql.SQLError
	if !errors.As(err, &se) {
		se = mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "%v", err)
	}
	payload := []byte{0xff, 0, 0, '#'}
	binary.LittleEndian.PutUint16(payload[1:], uint16(se.Num))
	payload = append(payload, se.State...)
	payload = append(payload, se.Message...)
	pkt := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), 0}
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write(append(pkt, payload...))
}

// limitedConn holds a handshake slot until it logs in, then a connection
// slot, and gives the one it holds back on the first Close.
type limitedConn struct {
	net.Conn
	l             *connLimit
	authenticated bool // under l.mu
	closed        bool // under l.mu
	loginFailed   bool // set by the auth method before the handshake is aborted
}

// authenticate moves the connection from the handshake to the open
// connections, or refuses it beyond max.
func (c *limitedConn) authenticate() error {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.closed || c.authenticated {
		return nil
	}
	if l.max > 0 && l.open >= l.max {
		return l.errTooMany()
	}
	l.handshaking--
	l.open++
	c.authenticated = true
	return c.Conn.SetDeadline(time.Time{})
}

func (c *limitedConn) Close() error {
	l := c.l
	l.mu.Lock()
	if !c.closed {
		c.closed = true
		if c.authenticated {
			l.open--
		} else {
			l.handshaking--
		}
	}
	l.mu.Unlock()
	return c.Conn.Close()
}

// limitedOf finds our connection under the MySQL library's (TLS wraps it).
func limitedOf(nc net.Conn) *limitedConn {
	for nc != nil {
		switch c := nc.(type) {
		case *limitedConn:
			return c
		case interface{ NetConn() net.Conn }:
			nc = c.NetConn()
		default:
			return nil
		}
	}
	return nil
}

func hostOf(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// connectionHooks sees connections log in or fail to: it moves them from
// the handshake to the open connections, and reports aborted handshakes to
// the loginGuard.
type connectionHooks struct {
	mysql.Handler
	logins *loginGuard
}

func (h connectionHooks) ConnectionAuthenticated(c *mysql.Conn) error {
	if lc := limitedOf(c.Conn); lc != nil {
		if err := lc.authenticate(); err != nil {
			return err
		}
	}
	return h.Handler.ConnectionAuthenticated(c)
}

// ConnectionAborted: a handshake that timed out or sent garbage counts
// against its host as a failed login does, as in MySQL (max_connect_errors);
// failed logins were counted by loginMethod already.
func (h connectionHooks) ConnectionAborted(c *mysql.Conn, reason string) error {
	if lc := limitedOf(c.Conn); lc != nil && !lc.loginFailed {
		h.logins.failed("", c.RemoteAddr(), reason)
	}
	return h.Handler.ConnectionAborted(c, reason)
}

// protocolListener builds GMS's MySQL listener with connectionHooks around
// the handler and loginGuard around the accounts.
func protocolListener(logins *loginGuard) server.ProtocolListenerFunc {
	return func(cfg server.Config, lc mysql.ListenerConfig, sel server.ServerEventListener) (server.ProtocolListener, error) {
		lc.Handler = connectionHooks{Handler: lc.Handler, logins: logins}
		methods := lc.AuthServer.AuthMethods()
		wrapped := make([]mysql.AuthMethod, len(methods))
		for i, m := range methods {
			wrapped[i] = loginMethod{AuthMethod: m, logins: logins}
		}
		lc.AuthServer = loginAuth{AuthServer: lc.AuthServer, methods: wrapped}
		return server.MySQLProtocolListenerFactory(cfg, lc, sel)
	}
}

// loginAuth is GMS's account system with every method a loginMethod.
type loginAuth struct {
	mysql.AuthServer
	methods []mysql.AuthMethod
}

func (a loginAuth) AuthMethods() []mysql.AuthMethod { return a.methods }

// loginMethod refuses blocked hosts before checking a password, and logs
// and counts failed logins.
type loginMethod struct {
	mysql.AuthMethod
	logins *loginGuard
}

func (m loginMethod) HandleAuthPluginData(c *mysql.Conn, user string, serverData, clientData []byte, remote net.Addr) (mysql.Getter, error) {
	// Checked again here: attempts already in their handshake when the host
	// was blocked must not get to try their password.
	lc := limitedOf(c.Conn)
	if err := m.logins.check(hostOf(remote)); err != nil {
		if lc != nil {
			lc.loginFailed = true
		}
		return nil, err
	}
	getter, err := m.AuthMethod.HandleAuthPluginData(c, user, serverData, clientData, remote)
	if err != nil {
		if lc != nil {
			lc.loginFailed = true // counted here, with the user
		}
		m.logins.failed(user, remote, err.Error())
	}
	return getter, err
}

// loginGuard logs failed logins and blocks a host for block once it has
// failed max times (0: never), like MySQL's max_connect_errors but
// counting failed passwords too: it slows password guessing to max tries
// per block. A host's count starts again when its block ends or when a
// block's time has passed since its first failure.
type loginGuard struct {
	max   int
	block time.Duration
	log   *slog.Logger
	mu    sync.Mutex
	hosts map[string]*hostFailures
}

type hostFailures struct {
	n            int
	first, until time.Time
}

// maxGuardedHosts bounds the hosts remembered; beyond it, hosts whose
// failures are old are forgotten first.
const maxGuardedHosts = 10_000

func newLoginGuard(cfg Config, log *slog.Logger) *loginGuard {
	g := &loginGuard{max: cfg.LoginFailures, block: cfg.LoginBlock, log: log, hosts: map[string]*hostFailures{}}
	if g.max == 0 {
		g.max = DefaultLoginFailures
	}
	if g.block <= 0 {
		g.block = DefaultLoginBlock
	}
	return g
}

// check returns MySQL's 1129 if host is blocked.
func (g *loginGuard) check(host string) error {
	if g == nil || g.max < 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.hosts[host]
	if h == nil || !time.Now().Before(h.until) {
		return nil
	}
	return mysql.NewSQLError(mysql.ERHostIsBlocked, mysql.SSUnknownSQLState,
		"Host '%s' is blocked because of many connection errors: %d failed logins; try again after %s",
		host, h.n, h.until.UTC().Format(time.RFC3339))
}

// failed logs a failed login (user "" for an aborted handshake) and counts
// it against the remote host.
func (g *loginGuard) failed(user string, remote net.Addr, reason string) {
	if g == nil {
		return
	}
	host := hostOf(remote)
	if user != "" {
		g.log.Warn("MySQL login failed", "user", user, "remote", fmt.Sprint(remote), "reason", reason)
	} else {
		g.log.Info("MySQL handshake aborted", "remote", fmt.Sprint(remote), "reason", reason)
	}
	if g.max < 0 {
		return
	}
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.hosts[host]
	if h == nil || now.Sub(h.first) > g.block && now.After(h.until) {
		if len(g.hosts) >= maxGuardedHosts {
			g.prune(now)
		}
		h = &hostFailures{first: now}
		g.hosts[host] = h
	}
	h.n++
	if h.n == g.max {
		h.until = now.Add(g.block)
		g.log.Warn("MySQL host blocked after failed logins", "host", host, "failures", h.n, "until", h.until)
	}
}

// prune forgets hosts that are neither blocked nor recent, and everything
// if that is not enough (memory is the bound that matters).
func (g *loginGuard) prune(now time.Time) {
	for host, h := range g.hosts {
		if now.Sub(h.first) > g.block && now.After(h.until) {
			delete(g.hosts, host)
		}
	}
	if len(g.hosts) >= maxGuardedHosts {
		clear(g.hosts)
	}
}
