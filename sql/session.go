package sql

import (
	"context"

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
		return s, nil
	}
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
	if tx, ok := ctx.GetTransaction().(*snapshotTxn); ok {
		return tx.view
	}
	return src.View()
}

// snapshotOf is the image snapshot of viewOf.
func snapshotOf(ctx *gsql.Context, src Source) *memdb.Snapshot {
	return viewOf(ctx, src).Snapshot
}
