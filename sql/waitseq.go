package sql

import (
	"fmt"
	"math"
	"time"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// waitForSeqName is the read-your-writes function: after a write answered
// with seq N, SELECT imago_wait_for_seq(N, 5) returns 0 once N is visible
// here (a replica has applied it), -1 after the timeout in seconds; the
// next statement then reads a snapshot holding N. The shape of MySQL's
// WAIT_FOR_EXECUTED_GTID_SET and MariaDB's MASTER_GTID_WAIT.
const waitForSeqName = "imago_wait_for_seq"

// waitForSeqFunction is imago_wait_for_seq over src.
func waitForSeqFunction(src Source) gsql.Function {
	return gsql.Function2{Name: waitForSeqName, Fn: func(_ *gsql.Context, seq, timeout gsql.Expression) gsql.Expression {
		return &waitForSeq{src: src, seq: seq, timeout: timeout}
	}}
}

// waitForSeq is a call of imago_wait_for_seq.
type waitForSeq struct {
	src          Source
	seq, timeout gsql.Expression
}

var _ gsql.FunctionExpression = (*waitForSeq)(nil)

func (w *waitForSeq) Eval(ctx *gsql.Context, row gsql.Row) (any, error) {
	seq, err := evalNumber(ctx, w.seq, row, "seq")
	if err != nil || seq < 0 {
		return nil, err
	}
	secs, err := evalNumber(ctx, w.timeout, row, "timeout")
	if err != nil {
		return nil, err
	}
	deadline := time.NewTimer(time.Duration(math.Min(math.Max(secs, 0), 1e9) * float64(time.Second)))
	defer deadline.Stop()
	for {
		view := w.src.View()
		if view.Seq >= uint64(seq) {
			return int64(0), nil
		}
		select {
		case <-view.Superseded():
		case <-deadline.C:
			return int64(-1), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// evalNumber evaluates an argument that must be a number.
func evalNumber(ctx *gsql.Context, e gsql.Expression, row gsql.Row, name string) (float64, error) {
	v, err := e.Eval(ctx, row)
	if err != nil || v == nil {
		return -1, err
	}
	f, _, err := types.Float64.Convert(ctx, v)
	if err != nil {
		return 0, fmt.Errorf("%s(%s): want a number: %w", waitForSeqName, name, err)
	}
	return f.(float64), nil
}

func (w *waitForSeq) Resolved() bool { return w.seq.Resolved() && w.timeout.Resolved() }
func (w *waitForSeq) String() string {
	return fmt.Sprintf("%s(%s, %s)", waitForSeqName, w.seq, w.timeout)
}
func (w *waitForSeq) Type(*gsql.Context) gsql.Type  { return types.Int64 }
func (w *waitForSeq) IsNullable(*gsql.Context) bool { return true }
func (w *waitForSeq) Children() []gsql.Expression   { return []gsql.Expression{w.seq, w.timeout} }
func (w *waitForSeq) FunctionName() string          { return waitForSeqName }
func (w *waitForSeq) Description() string {
	return "waits until a seq is visible: 0, or -1 after the timeout (seconds)"
}
func (w *waitForSeq) IsNonDeterministic() bool { return true }
func (w *waitForSeq) WithChildren(_ *gsql.Context, children ...gsql.Expression) (gsql.Expression, error) {
	if len(children) != 2 {
		return nil, gsql.ErrInvalidChildrenNumber.New(w, len(children), 2)
	}
	return &waitForSeq{src: w.src, seq: children[0], timeout: children[1]}, nil
}
