package sql

import (
	"encoding/json"
	"strings"
	"time"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// RedactionRow is a redaction of the log, a row of imago.redactions: who,
// when, why and what; never the values redacted.
type RedactionRow struct {
	Epoch       uint64
	Time        time.Time
	Actor       string
	Reason      string
	Fields      []string
	Where       string // the payload field the entries were chosen by
	Seqs        []uint64
	Derived     []string
	Checkpoints []string // rewritten or removed
}

// redactionsTable is imago.redactions (Config.Redactions), read when the
// statement runs.
type redactionsTable struct {
	rows func() ([]RedactionRow, error)
}

var redactionsSchema = func() gsql.Schema {
	col := func(name string, typ gsql.Type, nullable bool) *gsql.Column {
		return &gsql.Column{Name: name, Type: typ, Nullable: nullable, Source: "redactions", DatabaseSource: SystemDatabase}
	}
	s := gsql.Schema{
		col("epoch", types.Uint64, false),
		col("time", types.DatetimeMaxPrecision, false),
		col("actor", varchar(255), false),
		col("reason", varchar(4096), false),
		col("fields", varchar(4096), false),
		col("where_field", varchar(255), true),
		col("entries", types.Uint64, false),
		col("seqs", types.JSON, false),
		col("derived", varchar(4096), true),
		col("checkpoints", varchar(4096), true),
	}
	s[0].PrimaryKey = true
	return s
}()

func (t *redactionsTable) Name() string                     { return "redactions" }
func (t *redactionsTable) String() string                   { return "redactions" }
func (t *redactionsTable) Schema(*gsql.Context) gsql.Schema { return redactionsSchema }
func (t *redactionsTable) Collation() gsql.CollationID      { return gsql.Collation_utf8mb4_0900_bin }

func (t *redactionsTable) Partitions(*gsql.Context) (gsql.PartitionIter, error) {
	return gsql.PartitionsToPartitionIter(scanPartition{}), nil
}

func (t *redactionsTable) PartitionRows(*gsql.Context, gsql.Partition) (gsql.RowIter, error) {
	var rows []gsql.Row
	if t.rows != nil {
		recs, err := t.rows()
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			seqs, err := json.Marshal(r.Seqs)
			if err != nil {
				return nil, err
			}
			rows = append(rows, gsql.Row{r.Epoch, r.Time.UTC(), r.Actor, r.Reason, strings.Join(r.Fields, ","), orNull(r.Where),
				uint64(len(r.Seqs)), string(seqs), orNull(strings.Join(r.Derived, ",")), orNull(strings.Join(r.Checkpoints, ","))})
		}
	}
	return gsql.RowsToRowIter(rows...), nil
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}
