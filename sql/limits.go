package sql

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// connLimit is a listener that counts its open connections and, with a
// max above 0, admits at most max at a time and answers the ones beyond
// with MySQL's "Too many connections" (1040) in place of the handshake, as
// MySQL does. (The MySQL library under GMS closes such connections without
// a word, which clients report as a lost connection, or makes them wait.)
type connLimit struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open int
}

func limitConnections(ln net.Listener, max int) *connLimit {
	return &connLimit{Listener: ln, max: max}
}

// Open is the number of connections open now.
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
		if l.admit() {
			return &limitedConn{Conn: c, release: l.release}, nil
		}
		go refuseConnection(c, l.max)
	}
}

func (l *connLimit) admit() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open >= l.max {
		return false
	}
	l.open++
	return true
}

func (l *connLimit) release() {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
}

// refuseConnection sends an error packet as the server's first packet.
func refuseConnection(c net.Conn, max int) {
	defer c.Close()
	msg := fmt.Sprintf("Too many connections: the limit is %d (--mysql-max-connections)", max)
	payload := []byte{0xff, 0, 0, '#'}
	binary.LittleEndian.PutUint16(payload[1:], mysql.ERConCount)
	payload = append(payload, "08004"...)
	payload = append(payload, msg...)
	pkt := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), 0}
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write(append(pkt, payload...))
}

// limitedConn gives its slot back once, on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// timeLimit cancels a statement that runs longer than limit and answers
// MySQL's ER_QUERY_TIMEOUT (3024); the connection stays usable.
type timeLimit struct {
	passThrough
	limit time.Duration
}

var _ server.Interceptor = timeLimit{}

// Priority: run outside the read-only guard, so its time counts too.
func (timeLimit) Priority() int { return -1 }

func (t timeLimit) run(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, t.limit)
	defer cancel()
	err := fn(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return mysql.NewSQLError(mysql.ERQueryTimeout, mysql.SSUnknownSQLState,
			"Query execution was interrupted: it ran longer than the limit of %s (--mysql-query-timeout)", t.limit)
	}
	return err
}

func (t timeLimit) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	return t.run(ctx, func(ctx context.Context) error { return chain.ComQuery(ctx, c, query, callback) })
}

func (t timeLimit) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, _ sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return t.run(context.Background(), func(ctx context.Context) error { return chain.ComQuery(ctx, c, query, callback) })
}

func (t timeLimit) MultiQuery(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (string, error) {
	var rest string
	err := t.run(ctx, func(ctx context.Context) (err error) {
		rest, err = chain.ComMultiQuery(ctx, c, query, callback)
		return err
	})
	return rest, err
}

func (t timeLimit) StmtExecute(ctx context.Context, chain server.Chain, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	return t.run(ctx, func(ctx context.Context) error { return chain.ComStmtExecute(ctx, c, prepare, callback) })
}
