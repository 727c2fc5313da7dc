package sql_test

import (
	"context"
	gosql "database/sql"
	"runtime"
	"testing"

	imagosql "github.com/imagodb/imago/sql"
)

// TestValueSizeLimit: functions that build strings answer NULL with
// warning 1301 beyond max_allowed_packet, as MySQL does, without building
// them (the attack, SELECT LENGTH(REPEAT('x',2000000000)) by a read-only
// account, grew the server by 2 GB); within it they answer as GMS does.
func TestValueSizeLimit(t *testing.T) {
	const maxPacket = 1 << 20
	f := newFixture(t, func(c *imagosql.Config) {
		c.Users = []imagosql.User{{Name: "root", Admin: true}, {Name: "analyst", Password: "pw"}}
		c.MaxAllowedPacket = maxPacket
	})
	ctx := context.Background()
	c, err := f.open(t, "analyst", "pw").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []struct{ query, want string }{
		{"SELECT LENGTH(REPEAT('x', 2000000000))", "NULL"},
		{"SELECT LENGTH(SPACE(2000000000))", "NULL"},
		{"SELECT LENGTH(LPAD('x', 2000000000, 'y'))", "NULL"},
		{"SELECT LENGTH(RPAD('x', 2000000000, 'y'))", "NULL"},
		{"SELECT LENGTH(CONCAT(REPEAT('x', 600000), REPEAT('y', 600000)))", "NULL"},
		{"SELECT LENGTH(CONCAT_WS(REPEAT(',', 1000), REPEAT('x', 1000), 'a', 'b', 'c'))", "4003"},
		{"SELECT LENGTH(REPLACE(REPEAT('x', 1000), 'x', REPEAT('y', 2000)))", "NULL"},
		{"SELECT LENGTH(REPLACE(REPLACE(REPEAT('x', 100), 'x', REPEAT('y', 200)), 'y', REPEAT('z', 200)))", "NULL"},
		{"SELECT LENGTH(REGEXP_REPLACE(REPEAT('x', 1000), 'x', REPEAT('y', 2000)))", "NULL"},
		{"SELECT LENGTH(TO_BASE64(REPEAT('x', 900000)))", "NULL"},
		{"SELECT LENGTH(REPEAT('x', 1000000))", "1000000"},
		{"SELECT REPEAT('ab', 3)", "ababab"},
		{"SELECT LPAD('x', 3, 'y')", "yyx"},
		{"SELECT RPAD('x', 3, 'y')", "xyy"},
		{"SELECT CONCAT('a', NULL) IS NULL", "1"},
		{"SELECT CONCAT_WS('-', 'a', 'b')", "a-b"},
		{"SELECT REPLACE('aXbX', 'X', 'yy')", "ayybyy"},
		{"SELECT SPACE(2)", "  "},
		{"SELECT HEX('ab')", "6162"},
		{"SELECT @@max_allowed_packet", "1048576"},
	} {
		t.Run(q.query, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var v gosql.NullString
			if err := c.QueryRowContext(ctx, q.query).Scan(&v); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			got := v.String
			if !v.Valid {
				got = "NULL"
			}
			if got != q.want {
				t.Fatalf("got %.40q, want %q", got, q.want)
			}
			// The server runs in this process: what the statement allocated
			// is here (other goroutines add little).
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("allocated %d MiB", grew>>20)
			}
			if q.want != "NULL" {
				return
			}
			var level, msg string
			var code int
			if err := c.QueryRowContext(ctx, "SHOW WARNINGS").Scan(&level, &code, &msg); err != nil || code != 1301 {
				t.Fatalf("SHOW WARNINGS: %d %q %v, want 1301", code, msg, err)
			}
		})
	}
}
