package sql_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	gosql "database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/shop"
	imagosql "github.com/imagodb/imago/sql"
)

func TestParseUsers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []imagosql.User
		err  string
	}{
		{in: "", want: nil},
		{in: "# analysts\n\nana pw\n  bo p2 caching_sha2_password  \n", want: []imagosql.User{
			{Name: "ana", Password: "pw"}, {Name: "bo", Password: "p2", Plugin: "caching_sha2_password"}}},
		{in: "ana\n", err: "line 1"},
		{in: "ok pw\nana pw plugin extra\n", err: "line 2"},
	} {
		got, err := imagosql.ParseUsers(strings.NewReader(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want one naming %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestServerRefusesUnsafeAccounts(t *testing.T) {
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name string
		cfg  imagosql.Config
		want string
	}{
		{"default root on all interfaces", imagosql.Config{Addr: "0.0.0.0:0"}, `"root" has no password`},
		{"passwordless account on an IP", imagosql.Config{Addr: "192.0.2.1:0", Users: []imagosql.User{{Name: "x"}}}, `"x" has no password`},
		{"caching_sha2 without TLS", imagosql.Config{Addr: "127.0.0.1:0", Users: []imagosql.User{{Name: "x", Password: "p", Plugin: "caching_sha2_password"}}}, "only over TLS"},
		{"unknown plugin", imagosql.Config{Addr: "127.0.0.1:0", Users: []imagosql.User{{Name: "x", Password: "p", Plugin: "pam"}}}, `unknown authentication plugin "pam"`},
		{"duplicate account", imagosql.Config{Addr: "127.0.0.1:0", Users: []imagosql.User{{Name: "x", Password: "p"}, {Name: "x", Password: "q"}}}, "declared twice"},
		{"app named imago", imagosql.Config{Addr: "127.0.0.1:0", Database: "Imago"}, "Imago's own"},
	} {
		cfg := c.cfg
		if cfg.Database == "" {
			cfg.Database = "shop"
		}
		cfg.Tables, cfg.Source = db.Tables(), db
		srv, err := imagosql.NewServer(cfg)
		if err == nil {
			srv.Close()
			t.Errorf("%s: server started", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
}

func TestAccounts(t *testing.T) {
	mysql.RegisterTLSConfig("imago-test", &tls.Config{InsecureSkipVerify: true})
	f := newFixture(t, func(c *imagosql.Config) {
		c.TLS = selfSignedTLS(t)
		c.Users = []imagosql.User{
			{Name: "root", Password: "rootpw", Admin: true},
			{Name: "analyst", Password: "s3cret"},
			{Name: "bi", Password: "sha2pw", Plugin: "caching_sha2_password"},
		}
	})
	for _, c := range []struct {
		user, password string
		params         []string
		ok             bool
	}{
		{"root", "rootpw", nil, true},
		{"root", "", nil, false},
		{"analyst", "s3cret", nil, true},
		{"analyst", "s3cret", []string{"tls=imago-test"}, true},
		{"analyst", "wrong", nil, false},
		{"nobody", "", nil, false},
		{"bi", "sha2pw", []string{"tls=imago-test"}, true},
		{"bi", "wrong", []string{"tls=imago-test"}, false},
		{"bi", "sha2pw", nil, false}, // caching_sha2_password needs TLS
	} {
		conn := f.open(t, c.user, c.password, c.params...)
		var user string
		err := conn.QueryRow("SELECT CURRENT_USER()").Scan(&user)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s %v: %v", c.user, c.params, err)
		case c.ok && user != c.user+"@%":
			t.Errorf("%s: CURRENT_USER() = %q", c.user, user)
		case !c.ok && err == nil:
			t.Errorf("%s/%s %v: logged in", c.user, c.password, c.params)
		case !c.ok && !isMySQLError(err, 1045):
			t.Errorf("%s/%s %v: %v, want access denied (1045)", c.user, c.password, c.params, err)
		}
	}

	analyst := f.open(t, "analyst", "s3cret")
	var grants string
	rows, err := analyst.Query("SHOW GRANTS")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g string
		rows.Scan(&g)
		grants += g + "\n"
	}
	rows.Close()
	if !strings.Contains(grants, "GRANT SELECT, SHOW VIEW ON `shop`.*") || !strings.Contains(grants, "ON `imago`.*") || strings.Contains(grants, "ALL") {
		t.Errorf("SHOW GRANTS for analyst:\n%s", grants)
	}
	var schemas []string
	rows, err = analyst.Query("SHOW DATABASES")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		schemas = append(schemas, s)
	}
	rows.Close()
	// GMS lists mysql to everyone; what matters is that its tables are closed (below).
	if got := strings.Join(schemas, " "); got != "imago information_schema mysql performance_schema shop" {
		t.Errorf("analyst's SHOW DATABASES: %v", got)
	}
	var n int
	if err := analyst.QueryRow("SELECT COUNT(*) FROM shop.orders o JOIN imago.commands c ON c.name = 'place_order' AND c.seq = 1").Scan(&n); err != nil {
		t.Errorf("analyst reads the shop and the log: %v", err)
	}
	if err := analyst.QueryRow("SELECT COUNT(*) FROM mysql.user").Scan(&n); err == nil {
		t.Error("analyst reads account hashes in mysql.user")
	}
	if _, err := analyst.Exec("CREATE USER evil IDENTIFIED BY 'x'"); err == nil {
		t.Error("analyst created an account")
	}
}

func TestConnectionLimit(t *testing.T) {
	f := newFixture(t, func(c *imagosql.Config) { c.MaxConnections = 2 })
	ctx := context.Background()
	f.conn.SetMaxIdleConns(0)
	held := make([]*gosql.Conn, 0, 2)
	for range 2 {
		c, err := f.conn.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(ctx); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	extra := f.open(t, "root", "")
	err := extra.Ping()
	if !isMySQLError(err, 1040) || !strings.Contains(err.Error(), "--mysql-max-connections") {
		t.Fatalf("connection beyond the limit: %v, want 1040 naming the flag", err)
	}
	if err := held[0].PingContext(ctx); err != nil {
		t.Fatalf("a held connection broke: %v", err)
	}
	held[0].Close()
	// The slot is free once the server sees the connection close.
	deadline := time.Now().Add(5 * time.Second)
	for err = extra.Ping(); err != nil && time.Now().Before(deadline); err = extra.Ping() {
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after a connection closed: %v", err)
	}
}

func TestQueryTimeLimit(t *testing.T) {
	f := newFixture(t, func(c *imagosql.Config) { c.QueryTimeout = 200 * time.Millisecond })
	ctx := context.Background()
	c, err := f.conn.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var v int
	err = c.QueryRowContext(ctx, "SELECT SLEEP(3)").Scan(&v)
	if !isMySQLError(err, 3024) || !strings.Contains(err.Error(), "--mysql-query-timeout") {
		t.Fatalf("long query: %v, want 3024 naming the flag", err)
	}
	// A long scan is interrupted too, not only SLEEP.
	err = c.QueryRowContext(ctx, "SELECT COUNT(*) FROM imago.commands a, imago.commands b, imago.commands c").Scan(&v)
	if !isMySQLError(err, 3024) {
		t.Fatalf("long scan: %v, want 3024", err)
	}
	if err := c.QueryRowContext(ctx, "SELECT 1").Scan(&v); err != nil || v != 1 {
		t.Fatalf("the connection after a timeout: %v", err)
	}
}

func isMySQLError(err error, code uint16) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == code
}

// selfSignedTLS is a server TLS config with a fresh self-signed certificate.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// TestSQLPrepare: SQL-level PREPARE/EXECUTE/DEALLOCATE answer replies that
// libmysqlclient accepts (it reported 2027 "Malformed packet" on PREPARE's
// OK and dropped the connection), and the connection keeps working.
func TestSQLPrepare(t *testing.T) {
	f := newFixture(t)
	w := dialWire(t, f.addr)
	if err := w.login("root", "shop"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ query, want string }{
		{"PREPARE s FROM 'SELECT 1 + 1'", "[]"},
		{"EXECUTE s", "[[2]]"},
		{"SET @id = 'c-000001'", "[]"},
		{"PREPARE c FROM 'SELECT customer_id FROM customers WHERE customer_id = ?'", "[]"},
		{"EXECUTE c USING @id", "[[c-000001]]"},
		{"DEALLOCATE PREPARE s", "[]"},
		{"SELECT 3", "[[3]]"},
	} {
		t.Run(c.query, func(t *testing.T) {
			rows, err := w.query(c.query)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(rows); got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

// TestUnauthenticatedConnections: sockets that connect and never log in
// (the attack held all 151 slots with them) neither take the slots of
// accounts that log in nor stay open past the connect timeout; their own
// number is bounded apart.
func TestUnauthenticatedConnections(t *testing.T) {
	const maxConns, idle = 2, 12
	f := newFixture(t, func(c *imagosql.Config) {
		c.MaxConnections = maxConns
		c.MaxHandshakes = idle + 1 // and one login at a time
		c.ConnectTimeout = 3 * time.Second
		c.LoginFailures = -1 // the timeouts below must not block 127.0.0.1
	})
	f.conn.SetMaxIdleConns(0)
	held := make([]*wireConn, idle)
	for i := range held {
		held[i] = dialWire(t, f.addr)
		p, err := held[i].readPacket() // accepted: the greeting
		if err != nil || p[0] == 0xff {
			t.Fatalf("idle socket %d: %q %v", i, p, err)
		}
	}
	t.Run("accounts still log in", func(t *testing.T) {
		ctx := context.Background()
		var conns []*gosql.Conn
		for range maxConns {
			c, err := f.conn.Conn(ctx)
			if err != nil {
				t.Fatalf("root with %d idle sockets open: %v", idle, err)
			}
			defer c.Close()
			conns = append(conns, c)
		}
		extra := f.open(t, "root", "")
		if err := extra.Ping(); !isMySQLError(err, 1040) {
			t.Fatalf("login beyond MaxConnections: %v, want 1040", err)
		}
	})
	t.Run("handshakes are bounded", func(t *testing.T) {
		// The refused login above frees its handshake slot once the server
		// has closed it.
		var w1 *wireConn
		for deadline := time.Now().Add(10 * time.Second); ; {
			w1 = dialWire(t, f.addr)
			p, err := w1.readPacket()
			if err == nil && p[0] != 0xff {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a handshake within MaxHandshakes: %q %v", p, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		w2 := dialWire(t, f.addr)
		p, err := w2.readPacket()
		if err != nil || !isWireError(wireError(p), 1040) {
			t.Fatalf("handshake beyond MaxHandshakes: %q %v, want error 1040", p, err)
		}
		w1.Close()
	})
	t.Run("closed after the connect timeout", func(t *testing.T) {
		for i, w := range held {
			w.SetReadDeadline(time.Now().Add(60 * time.Second))
			if _, err := w.readPacket(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("idle socket %d: %v, want the server to close it", i, err)
			}
		}
	})
}

// TestFailedLogins: failed logins are logged with the user and the remote
// address, and a host that fails LoginFailures times is refused (1129),
// even with the right password, until LoginBlock has passed.
func TestFailedLogins(t *testing.T) {
	var logs lockedBuffer
	f := newFixture(t, func(c *imagosql.Config) {
		c.Users = []imagosql.User{{Name: "root", Admin: true}, {Name: "analyst", Password: "s3cret"}}
		c.LoginFailures = 3
		c.LoginBlock = time.Hour
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for i := range 3 {
		err := f.open(t, "analyst", "guess").Ping()
		if !isMySQLError(err, 1045) {
			t.Fatalf("wrong password %d: %v, want 1045", i, err)
		}
	}
	if err := f.open(t, "analyst", "s3cret").Ping(); !isMySQLError(err, 1129) {
		t.Fatalf("right password from a blocked host: %v, want 1129", err)
	}
	out := logs.String()
	if !strings.Contains(out, "MySQL login failed") || !strings.Contains(out, "user=analyst") || !strings.Contains(out, "remote=127.0.0.1:") {
		t.Fatalf("failed logins are not logged with user and remote address:\n%s", out)
	}
}

// lockedBuffer is a bytes.Buffer for concurrent log writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestReadersSeeOwnSessions: accounts that are not admins hold no PROCESS
// privilege: SHOW PROCESSLIST and information_schema.processlist list their
// own sessions only (the attack read root's statement texts there).
func TestReadersSeeOwnSessions(t *testing.T) {
	f := newFixture(t, func(c *imagosql.Config) {
		c.Users = []imagosql.User{{Name: "root", Admin: true}, {Name: "analyst", Password: "pw"}}
	})
	ctx := context.Background()
	root, err := f.conn.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	analyst := f.open(t, "analyst", "pw")
	users := func(db interface {
		QueryContext(context.Context, string, ...any) (*gosql.Rows, error)
	}, query string) []string {
		t.Helper()
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var got []string
		for rows.Next() {
			vals := make([]gosql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			got = append(got, vals[1].String) // User
		}
		return got
	}
	for _, q := range []string{"SHOW PROCESSLIST", "SHOW FULL PROCESSLIST", "SELECT * FROM information_schema.processlist"} {
		t.Run(q, func(t *testing.T) {
			if got := users(analyst, q); len(got) == 0 || slices.ContainsFunc(got, func(u string) bool { return u != "analyst" }) {
				t.Errorf("analyst sees sessions of %v", got)
			}
			if got := users(root, q); !slices.Contains(got, "analyst") || !slices.Contains(got, "root") {
				t.Errorf("root sees sessions of %v, want everyone's", got)
			}
		})
	}
	var grants []string
	rows, err := analyst.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g string
		rows.Scan(&g)
		grants = append(grants, g)
	}
	rows.Close()
	if s := strings.Join(grants, "\n"); strings.Contains(s, "PROCESS") {
		t.Errorf("analyst's grants:\n%s", s)
	}
}

// TestTLSStatus: SHOW STATUS reports the cipher and version a TLS
// connection negotiated (GMS left them empty), and nothing without TLS.
func TestTLSStatus(t *testing.T) {
	mysql.RegisterTLSConfig("imago-status", &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
	f := newFixture(t, func(c *imagosql.Config) {
		c.TLS = selfSignedTLS(t)
		c.Users = []imagosql.User{{Name: "root", Admin: true}, {Name: "analyst", Password: "pw"}}
	})
	status := func(db *gosql.DB, name string) string {
		var n, v string
		if err := db.QueryRow("SHOW STATUS LIKE '"+name+"'").Scan(&n, &v); err != nil {
			t.Fatalf("SHOW STATUS LIKE '%s': %v", name, err)
		}
		return v
	}
	for _, c := range []struct {
		params          []string
		cipher, version string
	}{
		{[]string{"tls=imago-status"}, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLSv1.2"},
		{nil, "", ""},
	} {
		t.Run(fmt.Sprint(c.params), func(t *testing.T) {
			db := f.open(t, "analyst", "pw", c.params...)
			if got := status(db, "Ssl_cipher"); got != c.cipher {
				t.Errorf("Ssl_cipher = %q, want %q", got, c.cipher)
			}
			if got := status(db, "Ssl_version"); got != c.version {
				t.Errorf("Ssl_version = %q, want %q", got, c.version)
			}
		})
	}
}
