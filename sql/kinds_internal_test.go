package sql

import (
	"testing"

	"github.com/imagodb/imago/memdb"
)

// TestEveryKindHasASQLType: a column kind added to memdb gets its GMS type
// here (TestEveryTypeThroughMySQL then reads a value of it over MySQL).
func TestEveryKindHasASQLType(t *testing.T) {
	for _, k := range memdb.Kinds() {
		if sqlTypes[k] == nil {
			t.Errorf("kind %s has no SQL type in sqlTypes", k)
		}
	}
	for typ, want := range map[memdb.Type]string{
		memdb.Varchar(10):    "varchar(10)",
		memdb.Decimal(10, 2): "decimal(10,2)",
		memdb.BigInt:         "bigint",
	} {
		if got := sqlType(typ).String(); got != want {
			t.Errorf("%s is %s, want %s", typ, got, want)
		}
	}
}
