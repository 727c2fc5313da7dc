package sql_test

import (
	gosql "database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/imagodb/imago/memdb"
	imagosql "github.com/imagodb/imago/sql"
)

// introspection is what BI tools, drivers and the mysql client send when they
// connect and browse (JDBC's connect batch, DBeaver, Metabase, Grafana).
// Every statement must answer without an error, for admins and readers.
var introspection = []string{
	"SHOW DATABASES", "SHOW TABLES", "SHOW FULL TABLES", "SHOW FULL TABLES FROM shop LIKE '%'",
	"SHOW COLUMNS FROM orders", "SHOW FULL COLUMNS FROM orders", "SHOW COLUMNS FROM imago.commands",
	"SHOW INDEX FROM order_lines", "SHOW KEYS FROM orders", "SHOW INDEX FROM imago.commands",
	"SHOW CREATE TABLE orders", "SHOW CREATE TABLE imago.commands", "SHOW CREATE DATABASE shop",
	"SHOW TABLE STATUS", "SHOW TABLE STATUS FROM shop LIKE 'orders'",
	"SHOW VARIABLES LIKE 'version%'", "SHOW SESSION STATUS LIKE 'Threads%'",
	"SHOW COLLATION LIKE 'utf8mb4%'", "SHOW CHARSET", "SHOW ENGINES", "SHOW PLUGINS",
	"SHOW PROCESSLIST", "SHOW FULL PROCESSLIST", "SHOW GRANTS", "SHOW GRANTS FOR CURRENT_USER()",
	"SHOW TRIGGERS", "SHOW PROCEDURE STATUS WHERE Db = 'shop'", "SHOW FUNCTION STATUS WHERE Db = 'shop'", "SHOW EVENTS",
	"SHOW WARNINGS",
	"SELECT * FROM information_schema.SCHEMATA",
	"SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ('shop', 'imago')",
	"SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME, ORDINAL_POSITION",
	"SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shop'",
	"SELECT * FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'shop'",
	"SELECT * FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = 'shop'",
	"SELECT * FROM information_schema.ROUTINES", "SELECT * FROM information_schema.PARAMETERS",
	"SELECT * FROM information_schema.REFERENTIAL_CONSTRAINTS", "SELECT * FROM information_schema.VIEWS",
	"SELECT * FROM information_schema.TRIGGERS", "SELECT * FROM information_schema.EVENTS",
	"SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
	// The batch Connector/J sends on connect.
	"SELECT @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, " +
		"@@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, " +
		"@@character_set_server AS character_set_server, @@collation_server AS collation_server, " +
		"@@collation_connection AS collation_connection, @@init_connect AS init_connect, " +
		"@@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, " +
		"@@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS net_write_timeout, " +
		"@@performance_schema AS performance_schema, @@query_cache_size AS query_cache_size, " +
		"@@query_cache_type AS query_cache_type, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, " +
		"@@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout",
	"SELECT @@session.transaction_read_only, @@session.tx_read_only, @@tx_isolation",
	"SET NAMES utf8mb4", "SET character_set_results = NULL", "SET SESSION sql_mode = 'ANSI_QUOTES'",
	"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", "SET SESSION TRANSACTION READ ONLY",
	"SET autocommit = 1", "SET SQL_SELECT_LIMIT = DEFAULT", "SET net_write_timeout = 600", "SET @@session.time_zone = '+00:00'",
	"START TRANSACTION READ ONLY", "COMMIT", "ROLLBACK", "USE shop",
	"SELECT DATABASE(), CONNECTION_ID(), USER(), CURRENT_USER(), VERSION(), @@version_comment",
	"SELECT TRUE AS _ FROM shop.orders WHERE 1 <> 1 LIMIT 0",
}

func TestIntrospectionAnswers(t *testing.T) {
	f := newFixture(t, func(c *imagosql.Config) {
		c.Users = []imagosql.User{{Name: "root", Admin: true}, {Name: "analyst", Password: "pw"}}
	})
	for _, user := range []struct{ name, password string }{{"root", ""}, {"analyst", "pw"}} {
		conn := f.open(t, user.name, user.password)
		conn.SetMaxOpenConns(1) // SET statements apply to one session
		for _, q := range introspection {
			if _, err := queryStrings(conn, q); err != nil {
				t.Errorf("as %s: %s: %v", user.name, q, err)
			}
		}
	}
}

// TestIntrospectionIsTrue checks that what tools read about the schema is
// what the app declares, and the row counts are the image's.
func TestIntrospectionIsTrue(t *testing.T) {
	f := newFixture(t)
	snap := f.db.View().Snapshot
	for _, tb := range f.db.Tables() {
		var want, got []string
		for _, c := range tb.Columns() {
			want = append(want, fmt.Sprintf("%s %s %s", c.Name, columnType(c.Type), yesNo(c.Nullable)))
		}
		rows, err := queryStrings(f.conn, "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", tb.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got = append(got, strings.Join(r, " "))
		}
		if !slices.Equal(got, want) {
			t.Errorf("columns of %s:\n got %q\nwant %q", tb.Name(), got, want)
		}

		want, got = nil, nil
		for _, ix := range append([]*memdb.Index{tb.Primary()}, tb.Indexes()...) {
			for i, p := range ix.Columns() {
				want = append(want, fmt.Sprintf("%s %d %d %s", ix.Name, boolInt(!ix.Unique), i+1, tb.Columns()[p].Name))
			}
		}
		rows, err = queryStrings(f.conn, "SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = ?", tb.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got = append(got, strings.Join(r, " "))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("indexes of %s:\n got %q\nwant %q", tb.Name(), got, want)
		}

		n := f.scalar(t, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = ?", tb.Name())
		if want := fmt.Sprint(snap.Count(tb)); n != want {
			t.Errorf("TABLE_ROWS of %s = %s, want %s", tb.Name(), n, want)
		}
	}
	create := f.scalarColumn(t, 1, "SHOW CREATE TABLE order_lines")
	for _, want := range []string{"PRIMARY KEY (`order_id`,`line_no`)", "KEY `sku` (`sku`)", "`quantity` bigint NOT NULL"} {
		if !strings.Contains(create, want) {
			t.Errorf("SHOW CREATE TABLE order_lines lacks %q:\n%s", want, create)
		}
	}
	if v := f.scalar(t, "SELECT @@version"); !strings.Contains(v, "imago") {
		t.Errorf("@@version = %q", v)
	}
}

func (f *fixture) scalarColumn(t *testing.T, col int, query string) string {
	t.Helper()
	rows, err := queryStrings(f.conn, query)
	if err != nil || len(rows) != 1 {
		t.Fatalf("%s: %d rows, %v", query, len(rows), err)
	}
	return rows[0][col]
}

// queryStrings runs a query and returns every row as strings (NULL as "NULL").
func queryStrings(conn *gosql.DB, query string, args ...any) ([][]string, error) {
	return rowStrings(conn.Query(query, args...))
}

// rowStrings reads every row as strings (NULL as "NULL") and closes rows.
func rowStrings(rows *gosql.Rows, err error) ([][]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		vals := make([]gosql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// columnType is MySQL's COLUMN_TYPE for a memdb column type.
func columnType(t memdb.Type) string {
	switch t.Kind {
	case memdb.KindBigInt:
		return "bigint"
	case memdb.KindBigIntUnsigned:
		return "bigint unsigned"
	case memdb.KindInt:
		return "int"
	case memdb.KindDouble:
		return "double"
	case memdb.KindDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case memdb.KindVarchar:
		return fmt.Sprintf("varchar(%d)", t.Length)
	case memdb.KindChar:
		return fmt.Sprintf("char(%d)", t.Length)
	case memdb.KindText:
		return "longtext"
	case memdb.KindVarbinary:
		return fmt.Sprintf("varbinary(%d)", t.Length)
	case memdb.KindBlob:
		return "blob"
	case memdb.KindBoolean:
		return "tinyint(1)"
	case memdb.KindDatetime:
		return "datetime(6)"
	case memdb.KindJSON:
		return "json"
	}
	return "?"
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
