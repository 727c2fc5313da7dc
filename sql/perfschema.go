package sql

import (
	"context"
	"fmt"
	"slices"
	"strings"

	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// PerformanceSchema is the schema of MySQL's performance_schema tables that
// tools read on connecting (DBeaver, Metabase, MySQL Workbench and
// mysql-connector read variables and status there, not with SHOW).
const PerformanceSchema = "performance_schema"

// newPerformanceSchema serves session_variables, global_variables,
// session_status and global_status from GMS's variables, as MySQL's
// performance_schema does: VARIABLE_NAME, VARIABLE_VALUE, by name.
func newPerformanceSchema() *database {
	db := newEmptyDatabase(PerformanceSchema, nil)
	db.add(&variablesTable{name: "session_variables", rows: sessionVariables})
	db.add(&variablesTable{name: "global_variables", rows: globalVariables})
	db.add(&variablesTable{name: "session_status", rows: sessionStatus})
	db.add(&variablesTable{name: "global_status", rows: globalStatus})
	return db
}

// variablesTable is a name/value table computed when a statement reads it.
type variablesTable struct {
	name string
	rows func(*gsql.Context) map[string]any
}

func (t *variablesTable) Name() string   { return t.name }
func (t *variablesTable) String() string { return t.name }
func (t *variablesTable) Schema(*gsql.Context) gsql.Schema {
	return gsql.Schema{
		{Name: "VARIABLE_NAME", Type: varchar(64), Source: t.name, DatabaseSource: PerformanceSchema, PrimaryKey: true},
		{Name: "VARIABLE_VALUE", Type: varchar(1024), Source: t.name, DatabaseSource: PerformanceSchema, Nullable: true},
	}
}
func (t *variablesTable) Collation() gsql.CollationID { return gsql.Collation_utf8mb4_0900_bin }

func (t *variablesTable) Partitions(*gsql.Context) (gsql.PartitionIter, error) {
	return gsql.PartitionsToPartitionIter(scanPartition{}), nil
}

func (t *variablesTable) PartitionRows(ctx *gsql.Context, _ gsql.Partition) (gsql.RowIter, error) {
	vals := t.rows(ctx)
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	slices.Sort(names)
	rows := make([]gsql.Row, 0, len(names))
	for _, n := range names {
		rows = append(rows, gsql.Row{n, variableText(vals[n])})
	}
	return gsql.RowsToRowIter(rows...), nil
}

// variableText is a value as performance_schema shows it: booleans ON/OFF.
func variableText(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case onOff:
		if v {
			return "ON"
		}
		return "OFF"
	case string:
		return v
	}
	return fmt.Sprint(v)
}

type onOff bool

// systemValue marks boolean system variables for variableText.
func systemValue(sv gsql.SystemVariable, v any) any {
	if _, ok := sv.GetType().(types.SystemBoolType); ok {
		n, _, _ := types.Int64.Convert(context.Background(), v)
		x, _ := n.(int64)
		return onOff(x != 0)
	}
	return v
}

func sessionVariables(ctx *gsql.Context) map[string]any {
	out := map[string]any{}
	for name, v := range ctx.Session.GetAllSessionVariables() {
		if sv, _, ok := gsql.SystemVariables.GetGlobal(name); ok {
			v = systemValue(sv, v)
		}
		out[strings.ToLower(name)] = v
	}
	return out
}

func globalVariables(*gsql.Context) map[string]any {
	out := map[string]any{}
	for name, v := range gsql.SystemVariables.GetAllGlobalVariables() {
		if sv, _, ok := gsql.SystemVariables.GetGlobal(name); ok {
			v = systemValue(sv, v)
		}
		out[strings.ToLower(name)] = v
	}
	return out
}

func sessionStatus(ctx *gsql.Context) map[string]any {
	out := map[string]any{}
	for name, v := range ctx.Session.GetAllStatusVariables(ctx) {
		out[name] = v.Value()
	}
	return out
}

func globalStatus(*gsql.Context) map[string]any {
	out := map[string]any{}
	for name := range gsql.StatusVariables.NewGlobalMap() {
		if _, v, ok := gsql.StatusVariables.GetGlobal(name); ok {
			out[name] = v
		}
	}
	return out
}
