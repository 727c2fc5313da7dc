package sql

import (
	"time"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// ReplicaStatus is a replica that follows this primary, a row of
// imago.replicas (as PostgreSQL's pg_stat_replication).
type ReplicaStatus struct {
	Name, Address string
	SentSeq       uint64 // the last seq sent to it
	AckedSeq      uint64 // the last seq it reported applied
	Lag           uint64 // durable commands it has not reported applied
	// LagTime is how long ago the oldest of those was accepted (0: it
	// applied everything durable).
	LagTime        time.Duration
	Connected      bool
	ConnectedSince time.Time
	LastSeen       time.Time
}

// replicasTable is imago.replicas: one row per replica that followed this
// primary's log recently (Config.Replicas), read when the statement runs.
type replicasTable struct {
	status func() []ReplicaStatus
}

var replicasSchema = func() gsql.Schema {
	col := func(name string, typ gsql.Type) *gsql.Column {
		return &gsql.Column{Name: name, Type: typ, Source: "replicas", DatabaseSource: SystemDatabase}
	}
	s := gsql.Schema{
		col("name", varchar(255)),
		col("address", varchar(255)),
		col("sent_seq", types.Uint64),
		col("acked_seq", types.Uint64),
		col("lag_commands", types.Uint64),
		col("lag_ms", types.Int64),
		col("state", varchar(16)),
		col("connected_since", types.DatetimeMaxPrecision),
		col("last_seen", types.DatetimeMaxPrecision),
	}
	s[0].PrimaryKey = true
	return s
}()

func (t *replicasTable) Name() string                     { return "replicas" }
func (t *replicasTable) String() string                   { return "replicas" }
func (t *replicasTable) Schema(*gsql.Context) gsql.Schema { return replicasSchema }
func (t *replicasTable) Collation() gsql.CollationID      { return gsql.Collation_utf8mb4_0900_bin }

func (t *replicasTable) Partitions(*gsql.Context) (gsql.PartitionIter, error) {
	return gsql.PartitionsToPartitionIter(scanPartition{}), nil
}

func (t *replicasTable) PartitionRows(*gsql.Context, gsql.Partition) (gsql.RowIter, error) {
	var rows []gsql.Row
	if t.status != nil {
		for _, r := range t.status() {
			state := "disconnected"
			if r.Connected {
				state = "streaming"
			}
			rows = append(rows, gsql.Row{r.Name, r.Address, r.SentSeq, r.AckedSeq, r.Lag, r.LagTime.Milliseconds(), state, r.ConnectedSince.UTC(), r.LastSeen.UTC()})
		}
	}
	return gsql.RowsToRowIter(rows...), nil
}
