package sql

import (
	"context"
	"crypto/tls"
	"strings"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// session is a client connection's session. It is a GMS TransactionSession
// only to pin snapshots: GMS starts a transaction for every statement (or at
// BEGIN), and the transaction is the published view of that moment.
type session struct {
	*gsql.BaseSession
	src Source
}

var _ gsql.TransactionSession = (*session)(nil)

func newSessionBuilder(src Source) func(context.Context, *mysql.Conn, string) (gsql.Session, error) {
	return func(_ context.Context, conn *mysql.Conn, addr string) (gsql.Session, error) {
		host, user := "", ""
		if u, ok := conn.UserData.(gsql.MysqlConnectionUser); ok {
			host, user = u.Host, u.User
		}
		client := gsql.Client{Address: host, User: user, Capabilities: conn.Capabilities}
		s := &session{BaseSession: gsql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID), src: src}
		conn.ClientData = s // for interceptors: see preparedReads
		if tc, ok := conn.Conn.(*tls.Conn); ok {
			// GMS leaves Ssl_cipher empty; clients check it to know
			// whether their connection is encrypted. Names are IANA's (Go's),
			// where MySQL prints OpenSSL's for TLS 1.2 suites.
			st := tc.ConnectionState()
			_ = s.SetStatusVariable(nil, "Ssl_cipher", tls.CipherSuiteName(st.CipherSuite))
			_ = s.SetStatusVariable(nil, "Ssl_version", strings.Replace(tls.VersionName(st.Version), "TLS ", "TLSv", 1))
		}
		return s, nil
	}
}

// newContextFactory makes GMS's statement contexts; for accounts that are
// not admins the process list holds only their own sessions, as MySQL
// shows it to accounts without PROCESS (GMS shows information_schema's to
// everyone).
func newContextFactory(users []User) gsql.ContextFactory {
	admins := map[string]bool{}
	for _, u := range users {
		if u.Admin {
			admins[u.Name] = true
		}
	}
	return func(parent context.Context, opts ...gsql.ContextOption) *gsql.Context {
		ctx := gsql.NewContext(parent, opts...)
		if ctx.Session != nil && ctx.ProcessList != nil {
			if user := ctx.Session.Client().User; !admins[user] {
				ctx.ProcessList = ownProcesses{ProcessList: ctx.ProcessList, user: user}
			}
		}
		return ctx
	}
}

// ownProcesses is a process list that lists user's sessions only.
type ownProcesses struct {
	gsql.ProcessList
	user string
}

func (p ownProcesses) Processes() []gsql.Process {
	all := p.ProcessList.Processes()
	own := all[:0:0]
	for _, proc := range all {
		if proc.User == p.user {
			own = append(own, proc)
		}
	}
	return own
}

// snapshotTxn is a read-only transaction: the published view it pinned.
type snapshotTxn struct{ view *commands.View }

func (*snapshotTxn) String() string   { return "imago snapshot" }
func (*snapshotTxn) IsReadOnly() bool { return true }

func (s *session) StartTransaction(*gsql.Context, gsql.TransactionCharacteristic) (gsql.Transaction, error) {
	return &snapshotTxn{view: s.src.View()}, nil
}

func (s *session) CommitTransaction(*gsql.Context, gsql.Transaction) error { return nil }
func (s *session) Rollback(*gsql.Context, gsql.Transaction) error          { return nil }
func (s *session) CreateSavepoint(*gsql.Context, gsql.Transaction, string) error {
	return nil
}
func (s *session) RollbackToSavepoint(*gsql.Context, gsql.Transaction, string) error {
	return nil
}
func (s *session) ReleaseSavepoint(*gsql.Context, gsql.Transaction, string) error { return nil }

// viewOf is the view the statement in ctx pinned, or the current published
// one where GMS reads outside a transaction (e.g. internal contexts).
func viewOf(ctx *gsql.Context, src Source) *commands.View {
	if p, ok := src.(pastSource); ok {
		return p.view // a past state (asof.go)
	}
	if tx, ok := ctx.GetTransaction().(*snapshotTxn); ok {
		return tx.view
	}
	return src.View()
}

// snapshotOf is the image snapshot of viewOf.
func snapshotOf(ctx *gsql.Context, src Source) *memdb.Snapshot {
	return viewOf(ctx, src).Snapshot
}
