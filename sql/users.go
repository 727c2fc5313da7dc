package sql

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/server"
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// User is a MySQL account. Every account only reads: the SQL surface has no
// writes to grant.
type User struct {
	Name     string
	Password string
	// Plugin is the authentication plugin: mysql_native_password (the
	// default) or caching_sha2_password, which needs TLS.
	Plugin string
	// Admin accounts hold every privilege, as MySQL's root does: they see the
	// mysql schema (account hashes) and every client's processlist entry.
	// Others may read the app's schema and imago, and list their own
	// sessions (no PROCESS: other sessions' statements are not theirs).
	Admin bool
}

// DefaultUsers is the account when none is configured: root without a
// password, which NewServer allows only on a loopback address.
var DefaultUsers = []User{{Name: "root", Admin: true}}

// LoadUsers reads a users file: one account per line, "<user> <password>
// [plugin]"; blank lines and lines starting with # are skipped. Passwords
// cannot contain spaces.
func LoadUsers(path string) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sql: users file: %w", err)
	}
	defer f.Close()
	users, err := ParseUsers(f)
	if err != nil {
		return nil, fmt.Errorf("sql: users file %s: %w", path, err)
	}
	return users, nil
}

// ParseUsers reads accounts in the users file format (see LoadUsers).
func ParseUsers(r io.Reader) ([]User, error) {
	var users []User
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("line %d: want \"<user> <password> [plugin]\", got %d fields", n, len(f))
		}
		u := User{Name: f[0], Password: f[1]}
		if len(f) == 3 {
			u.Plugin = f[2]
		}
		users = append(users, u)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return users, nil
}

// checkUsers refuses accounts that cannot work or would expose the server:
// duplicates, unknown plugins, caching_sha2_password without TLS, and an
// account without a password on an address other hosts can reach.
func checkUsers(addr string, users []User, tlsConfig *tls.Config) error {
	seen := map[string]bool{}
	for _, u := range users {
		if u.Name == "" {
			return fmt.Errorf("sql: an account has no user name")
		}
		if seen[u.Name] {
			return fmt.Errorf("sql: account %q is declared twice", u.Name)
		}
		seen[u.Name] = true
		switch u.Plugin {
		case "", string(mysql.MysqlNativePassword):
		case string(mysql.CachingSha2Password):
			if tlsConfig == nil {
				return fmt.Errorf("sql: account %q uses caching_sha2_password, which clients complete only over TLS: set --tls-cert and --tls-key, or use mysql_native_password", u.Name)
			}
		default:
			return fmt.Errorf("sql: account %q: unknown authentication plugin %q (mysql_native_password or caching_sha2_password)", u.Name, u.Plugin)
		}
		if u.Password == "" && !isLoopback(addr) {
			return fmt.Errorf("sql: account %q has no password and the MySQL listener %s is reachable from other hosts: set a password (--mysql-password or a users file) or listen on a loopback address such as 127.0.0.1", u.Name, addr)
		}
	}
	return nil
}

// isLoopback reports whether addr's host only accepts local connections.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// installUsers turns GMS's account system on with exactly these accounts.
// Accounts that are not Admin may read the served schemas only: a global
// SELECT would include the mysql schema and its password hashes.
func installUsers(db *mysql_db.MySQLDb, users []User, schemas ...string) error {
	db.SetPersister(&mysql_db.NoopPersister{}) // accounts live in the config, not in GMS
	ed := db.Editor()
	defer ed.Close()
	db.SetEnabled(true)
	for _, u := range users {
		var auth plan.Authentication = plan.AuthenticationMysqlNativePassword(u.Password)
		if u.Plugin == string(mysql.CachingSha2Password) {
			auth = plan.NewCachingSha2PasswordAuthentication(u.Password)
		}
		authString, err := auth.AuthString()
		if err != nil {
			return fmt.Errorf("sql: account %q: %w", u.Name, err)
		}
		privs := mysql_db.NewPrivilegeSetWithAllPrivileges()
		if !u.Admin {
			privs = mysql_db.NewPrivilegeSet()
			for _, s := range schemas {
				privs.AddDatabase(s, gsql.PrivilegeType_Select, gsql.PrivilegeType_ShowView)
			}
		}
		ed.PutUser(&mysql_db.User{
			User: u.Name, Host: "%", PrivilegeSet: privs, Plugin: auth.Plugin(), AuthString: authString,
			PasswordLastChanged: time.Unix(1, 0).UTC(), IsSuperUser: u.Admin,
		})
	}
	return nil
}

// readerGrants answers SHOW GRANTS and SHOW PROCESSLIST for accounts that
// are not Admin. MySQL lets every account see its own grants; GMS requires
// SELECT on the mysql schema, which would expose every account's password
// hash. MySQL shows accounts without PROCESS their own sessions; GMS
// refuses them SHOW PROCESSLIST, which is answered from
// information_schema.processlist (filtered, see newContextFactory).
type readerGrants struct {
	passThrough
	readers map[string]bool
	admins  map[string]bool // their SHOW GRANTS says what the read-only server lets them do
	schemas []string
}

var _ server.Interceptor = (*readerGrants)(nil)

func newReaderGrants(users []User, schemas ...string) *readerGrants {
	g := &readerGrants{readers: map[string]bool{}, admins: map[string]bool{}, schemas: schemas}
	for _, u := range users {
		if !u.Admin {
			g.readers[u.Name] = true
		} else {
			g.admins[u.Name] = true
		}
	}
	return g
}

func (*readerGrants) Priority() int { return 1 }

// answer is the result of stmt if it asks a reader's own grants, else nil.
func (g *readerGrants) answer(c *mysql.Conn, query string) *sqltypes.Result {
	// Readers' other statements are not parsed a second time: only what
	// starts with SHOW can be SHOW GRANTS.
	q := strings.TrimSpace(query)
	if !g.readers[c.User] && !g.admins[c.User] || len(q) < 4 || !strings.EqualFold(q[:4], "show") {
		return nil
	}
	stmt, err := sqlparser.Parse(q)
	if err != nil {
		return nil
	}
	sg, ok := stmt.(*sqlparser.ShowGrants)
	if !ok || (sg.For != nil && !sg.CurrentUser && sg.For.Name != c.User) {
		return nil
	}
	return g.grants(c)
}

// readersProcessList is SHOW FULL PROCESSLIST over information_schema.
const readersProcessList = "SELECT id AS Id, user AS User, host AS Host, db, command AS Command, time AS Time, state AS State, info AS Info FROM information_schema.processlist ORDER BY id"

// rewrite is the statement that answers query for a reader, or query.
func (g *readerGrants) rewrite(c *mysql.Conn, query string) string {
	q := strings.TrimSpace(query)
	if !g.readers[c.User] || len(q) < 4 || !strings.EqualFold(q[:4], "show") {
		return query
	}
	if s, err := sqlparser.Parse(q); err == nil {
		if show, ok := s.(*sqlparser.Show); ok && strings.EqualFold(show.Type, "processlist") {
			return readersProcessList
		}
	}
	return query
}

func (g *readerGrants) grants(c *mysql.Conn) *sqltypes.Result {
	account := "`" + c.User + "`@`%`"
	res := &sqltypes.Result{Fields: []*querypb.Field{{Name: "Grants for " + c.User + "@%", Type: sqltypes.VarChar, Charset: 255}}}
	if g.admins[c.User] {
		// GMS would list every privilege of its superuser, writes among
		// them; on this server an admin reads everything, sees every
		// session and stops statements (KILL).
		res.Rows = append(res.Rows,
			[]sqltypes.Value{sqltypes.NewVarChar("GRANT SELECT, PROCESS, SHOW DATABASES, SHOW VIEW ON *.* TO " + account)},
			[]sqltypes.Value{sqltypes.NewVarChar("GRANT CONNECTION_ADMIN ON *.* TO " + account)})
		return res
	}
	res.Rows = append(res.Rows, []sqltypes.Value{sqltypes.NewVarChar("GRANT USAGE ON *.* TO " + account)})
	for _, s := range g.schemas {
		res.Rows = append(res.Rows, []sqltypes.Value{sqltypes.NewVarChar("GRANT SELECT, SHOW VIEW ON `" + s + "`.* TO " + account)})
	}
	return res
}

func (g *readerGrants) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) error {
	if res := g.answer(c, query); res != nil {
		return callback(res, false)
	}
	return chain.ComQuery(ctx, c, g.rewrite(c, query), callback)
}

func (g *readerGrants) ParsedQuery(chain server.Chain, c *mysql.Conn, query string, _ sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return g.Query(context.Background(), chain, c, query, callback)
}

func (g *readerGrants) MultiQuery(ctx context.Context, chain server.Chain, c *mysql.Conn, query string, callback func(*sqltypes.Result, bool) error) (string, error) {
	if stmt, rest, err := sqlparser.SplitStatement(query); err == nil {
		if res := g.answer(c, stmt); res != nil {
			return rest, callback(res, rest != "")
		}
		if q := g.rewrite(c, stmt); q != stmt {
			return rest, chain.ComQuery(ctx, c, q, func(r *sqltypes.Result, _ bool) error { return callback(r, rest != "") })
		}
	}
	return chain.ComMultiQuery(ctx, c, query, callback)
}
