package sql

import (
	"context"
	"fmt"
	"strings"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/imagodb/imago/memdb"
)

// imago_diff(table, from, to): the rows of a table of the current
// database that differ between two points of the past, each a seq or a
// time as AS OF takes them:
//
//	SELECT * FROM imago_diff('orders', '2026-11-23', '2026-11-27')
//	SELECT * FROM imago_diff('orders', 30000, 40000)
//	SELECT * FROM imago_diff('orders', NOW() - INTERVAL 1 DAY, NOW())
//
// Rows: pk, kind (insert, update, delete), before_row and after_row as
// JSON, and the seqs the points resolved to. Both states are built as for
// AS OF (so cached alike) and their primary indexes walked in step
// (memdb.Diff): rows the two states share are skipped unread.

// DiffFunction is the name of the table function.
const DiffFunction = "imago_diff"

// Columns of imago_diff.
const (
	dfPK = iota
	dfKind
	dfBefore
	dfAfter
	dfFromSeq
	dfToSeq
)

var diffSchema = func() gsql.Schema {
	col := func(name string, typ gsql.Type, nullable bool) *gsql.Column {
		return &gsql.Column{Name: name, Type: typ, Nullable: nullable, Source: DiffFunction}
	}
	return gsql.Schema{
		col("pk", types.JSON, false),
		col("kind", varchar(6), false),
		col("before_row", types.JSON, true),
		col("after_row", types.JSON, true),
		col("from_seq", types.Uint64, false),
		col("to_seq", types.Uint64, false),
	}
}()

// diffFunction is imago_diff, and an instance of it with its arguments.
type diffFunction struct {
	past *pastStates
	db   gsql.Database
	args []gsql.Expression
}

var (
	_ gsql.TableFunction = (*diffFunction)(nil)
	_ gsql.ExecSourceRel = (*diffFunction)(nil)
)

func (f *diffFunction) NewInstance(ctx *gsql.Context, db gsql.Database, args []gsql.Expression) (gsql.Node, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("%s takes 3 arguments (table, from, to), e.g. %s('orders', '2026-11-23', '2026-11-27'); got %d", DiffFunction, DiffFunction, len(args))
	}
	return &diffFunction{past: f.past, db: db, args: args}, nil
}

func (f *diffFunction) Name() string                     { return DiffFunction }
func (f *diffFunction) Resolved() bool                   { return true }
func (f *diffFunction) IsReadOnly() bool                 { return true }
func (f *diffFunction) Schema(*gsql.Context) gsql.Schema { return diffSchema }
func (f *diffFunction) Children() []gsql.Node            { return nil }
func (f *diffFunction) Expressions() []gsql.Expression   { return f.args }
func (f *diffFunction) Database() gsql.Database          { return f.db }
func (f *diffFunction) Collation() gsql.CollationID      { return gsql.Collation_Default }
func (f *diffFunction) WithDatabase(db gsql.Database) (gsql.Node, error) {
	n := *f
	n.db = db
	return &n, nil
}

func (f *diffFunction) String() string {
	args := make([]string, len(f.args))
	for i, a := range f.args {
		args[i] = a.String()
	}
	return fmt.Sprintf("%s(%s)", DiffFunction, strings.Join(args, ", "))
}

func (f *diffFunction) WithChildren(_ *gsql.Context, children ...gsql.Node) (gsql.Node, error) {
	if len(children) != 0 {
		return nil, gsql.ErrInvalidChildrenNumber.New(f, len(children), 0)
	}
	return f, nil
}

func (f *diffFunction) WithExpressions(_ *gsql.Context, exprs ...gsql.Expression) (gsql.Node, error) {
	if len(exprs) != 3 {
		return nil, gsql.ErrInvalidChildrenNumber.New(f, len(exprs), 3)
	}
	n := *f
	n.args = exprs
	return &n, nil
}

// RowIter builds both states and streams the rows that differ.
func (f *diffFunction) RowIter(ctx *gsql.Context, r gsql.Row) (gsql.RowIter, error) {
	t, err := f.table(ctx, r)
	if err != nil {
		return nil, err
	}
	var seqs [2]uint64
	for i, a := range f.args[1:] {
		v, err := a.Eval(ctx, r)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("%s: the %s point is NULL: want a seq or a time", DiffFunction, [2]string{"from", "to"}[i])
		}
		if types.IsInteger(a.Type(ctx)) {
			if v, _, err = types.Uint64.Convert(ctx, v); err != nil {
				return nil, fmt.Errorf("%s: the %s point %v: %w", DiffFunction, [2]string{"from", "to"}[i], v, err)
			}
		}
		if seqs[i], err = f.past.seq(v); err != nil {
			return nil, fmt.Errorf("%s: %w", DiffFunction, err)
		}
	}
	from, err := f.past.views.ViewAt(ctx, seqs[0])
	if err != nil {
		return nil, fmt.Errorf("%s: from %d: %w", DiffFunction, seqs[0], err)
	}
	to, err := f.past.views.ViewAt(ctx, seqs[1])
	if err != nil {
		return nil, fmt.Errorf("%s: to %d: %w", DiffFunction, seqs[1], err)
	}
	rows := make(chan gsql.Row, 256)
	cctx, cancel := context.WithCancel(ctx)
	it := &changeRows{rows: rows, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(it.done)
		defer close(rows)
		it.err = memdb.Diff(from.Snapshot, to.Snapshot, t, func(c memdb.Change) error {
			row, err := diffRow(ctx, c, seqs)
			if err != nil {
				return fmt.Errorf("%s: %w", DiffFunction, err)
			}
			select {
			case rows <- row:
				return nil
			case <-cctx.Done():
				return cctx.Err()
			}
		})
	}()
	return it, nil
}

// table is the image table the first argument names in the current database.
func (f *diffFunction) table(ctx *gsql.Context, r gsql.Row) (*memdb.Table, error) {
	v, err := f.args[0].Eval(ctx, r)
	if err != nil {
		return nil, err
	}
	name, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%s: the first argument is the table's name as a string, e.g. 'orders'; got %v", DiffFunction, v)
	}
	var base *database
	switch d := f.db.(type) {
	case *versioned:
		base = d.base
	case *database:
		base = d
	}
	if base == nil {
		return nil, fmt.Errorf("%s: no database selected: USE the app's database (e.g. USE shop) first", DiffFunction)
	}
	if t, ok := base.tables[strings.ToLower(name)].(*table); ok {
		return t.t, nil
	}
	return nil, fmt.Errorf("%s: %s has no image table %q (its tables: %s)", DiffFunction, base.name, name, strings.Join(base.names, ", "))
}

// diffRow is the row of imago_diff for c.
func diffRow(ctx *gsql.Context, c memdb.Change, seqs [2]uint64) (gsql.Row, error) {
	row := gsql.Row{nil, changeKind(c), nil, nil, seqs[0], seqs[1]}
	return row, renderChange(ctx, c, row, dfPK, dfBefore, dfAfter)
}
