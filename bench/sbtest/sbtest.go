// Package sbtest is the application the sysbench comparison serves: one
// table, sbtest1, with sysbench's schema (id INT primary key, k INT with
// index k_1, c CHAR(120), pad CHAR(60)), loaded through a command that
// inserts a batch of rows.
package sbtest

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
)

// Table is sbtest1.
var Table = memdb.MustDefine(memdb.TableDef{
	Name: "sbtest1",
	Columns: []memdb.Column{
		{Name: "id", Type: memdb.Int},
		{Name: "k", Type: memdb.Int},
		{Name: "c", Type: memdb.Char(120)},
		{Name: "pad", Type: memdb.Char(60)},
	},
	PrimaryKey: []string{"id"},
	Indexes:    []memdb.IndexDef{{Name: "k_1", Columns: []string{"k"}}},
})

// App is the sbtest application (SQL database "sbtest").
func App() *imago.App {
	return &imago.App{
		Name: "sbtest", ProjectionVersion: 1, Tables: []*memdb.Table{Table},
		Commands: []commands.Definition{commands.Define[InsertRows]("insert_rows", 1)},
	}
}

// Row is a row of sbtest1.
type Row struct {
	ID  int32  `json:"id"`
	K   int32  `json:"k"`
	C   string `json:"c"`
	Pad string `json:"pad"`
}

// MaxRows bounds the rows of one InsertRows command.
const MaxRows = 1000

// InsertRows inserts rows; an id already present refuses the whole command.
type InsertRows struct {
	Rows []Row `json:"rows"`
}

// Validate implements commands.Command.
func (c *InsertRows) Validate() error {
	if len(c.Rows) == 0 || len(c.Rows) > MaxRows {
		return fmt.Errorf("rows: %d rows, want 1 to %d", len(c.Rows), MaxRows)
	}
	for i, r := range c.Rows {
		if len(r.C) > 120 || len(r.Pad) > 60 {
			return fmt.Errorf("rows[%d]: c is at most 120 characters and pad 60", i)
		}
	}
	return nil
}

// Apply implements commands.Command.
func (c *InsertRows) Apply(tx *memdb.Txn, _ *commands.Envelope) (any, error) {
	for _, r := range c.Rows {
		if err := tx.Insert(Table, memdb.Row{r.ID, r.K, r.C, r.Pad}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// Generate returns rows first..first+n-1 of a table of size rows, the same
// for a seed, shaped as sysbench's prepare makes them: k uniform in
// [1, size], c ten and pad five dash-separated groups of eleven digits.
func Generate(seed uint64, size, first, n int) []Row {
	rows := make([]Row, 0, n)
	for id := first; id < first+n; id++ {
		rng := rand.New(rand.NewPCG(seed, uint64(id)))
		rows = append(rows, Row{ID: int32(id), K: int32(1 + rng.IntN(size)), C: digits(rng, 10), Pad: digits(rng, 5)})
	}
	return rows
}

func digits(rng *rand.Rand, groups int) string {
	var b strings.Builder
	for g := range groups {
		if g > 0 {
			b.WriteByte('-')
		}
		for range 11 {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
	}
	return b.String()
}
