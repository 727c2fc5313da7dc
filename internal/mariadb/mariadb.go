// Package mariadb starts a MariaDB server from Debian's mariadb-server
// package for the peers of tests and benchmarks (sql/difftest,
// bench/tpch), on a free loopback port with its own data directory, and
// copies an image into it row by row.
//
// Guarantees:
//   - Nothing is installed: without the package Start says what to install.
//   - The server is MySQL-strict (MySQL 8's sql_mode) and UTC.
package mariadb

import (
	"context"
	gosql "database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // Start pings the server it started

	"github.com/imagodb/imago/memdb"
)

// Server is a MariaDB server of Debian's mariadb-server package started on
// a free loopback port with its data directory in a directory of the
// caller's. Nothing is installed here: .ci/run and `make difftest` install
// the package.
type Server struct {
	cmd *exec.Cmd
	// Addr is its host:port.
	Addr string
	dir  string
}

// sqlMode is MySQL 8's default mode, so that a query MariaDB accepts is one
// MySQL accepts too (ONLY_FULL_GROUP_BY above all).
const sqlMode = "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

func lookBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found (install Debian's mariadb-server: apt-get install mariadb-server)", name)
}

// Start initializes a data directory in dir and starts mariadbd on it.
func Start(dir string) (*Server, error) {
	install, err := lookBinary("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	server, err := lookBinary("mariadbd")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	args := []string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}
	asRoot := os.Geteuid() == 0
	if asRoot {
		args = append(args, "--user=root")
	}
	if out, err := exec.Command(install, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v\n%s", err, tail(out))
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args = []string{"--no-defaults", "--datadir=" + data, "--socket=" + filepath.Join(dir, "mariadb.sock"),
		fmt.Sprintf("--port=%d", port), "--bind-address=127.0.0.1", "--pid-file=" + filepath.Join(dir, "mariadb.pid"),
		"--skip-grant-tables", "--skip-log-bin", "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=0",
		"--default-time-zone=+00:00", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
		"--sql-mode=" + sqlMode, "--max-connections=50"}
	if asRoot {
		args = append(args, "--user=root")
	}
	logf, err := os.Create(filepath.Join(dir, "mariadb.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(server, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("mariadbd: %w", err)
	}
	m := &Server{cmd: cmd, Addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	conn, err := gosql.Open("mysql", "root@tcp("+m.Addr+")/")
	if err != nil {
		m.Stop()
		return nil, err
	}
	defer conn.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = conn.PingContext(ctx)
		cancel()
		if err == nil {
			return m, nil
		}
		select {
		case werr := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "mariadb.log"))
			return nil, fmt.Errorf("mariadbd exited: %v\n%s", werr, tail(log))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, fmt.Errorf("mariadbd did not answer within a minute: %v", err)
		}
	}
}

// Stop kills the server (its data directory is the caller's to remove).
func (m *Server) Stop() {
	if m.cmd.Process != nil {
		m.cmd.Process.Kill()
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// mariaType is the MariaDB column type of an image column.
func mariaType(t memdb.Type) string {
	switch t.Kind {
	case memdb.KindDatetime:
		return "DATETIME(6)"
	case memdb.KindBoolean:
		return "TINYINT(1)"
	}
	return t.String()
}

// createTable is the DDL of an image table in MariaDB: the same columns,
// primary key and secondary indexes.
func createTable(t *memdb.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE `%s` (", t.Name())
	for i, c := range t.Columns() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "`%s` %s", c.Name, mariaType(c.Type))
		if !c.Nullable {
			b.WriteString(" NOT NULL")
		}
	}
	quoted := func(names []string) string {
		q := make([]string, len(names))
		for i, n := range names {
			q[i] = "`" + n + "`"
		}
		return strings.Join(q, ", ")
	}
	fmt.Fprintf(&b, ", PRIMARY KEY (%s)", quoted(t.Primary().ColumnNames()))
	for _, ix := range t.Indexes() {
		unique := ""
		if ix.Unique {
			unique = "UNIQUE "
		}
		fmt.Fprintf(&b, ", %sKEY `%s` (%s)", unique, ix.Name, quoted(ix.ColumnNames()))
	}
	b.WriteString(") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	return b.String()
}

// CopyImage creates the image's tables in MariaDB's database name (the
// same columns, primary key and indexes) and inserts every row of snap,
// read from the image itself; then it analyzes them.
func CopyImage(ctx context.Context, conn *gosql.DB, name string, snap *memdb.Snapshot, tables []*memdb.Table) error {
	for _, q := range []string{"DROP DATABASE IF EXISTS `" + name + "`", "CREATE DATABASE `" + name + "`"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for _, t := range tables {
		if _, err := conn.ExecContext(ctx, "USE `"+name+"`"); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, createTable(t)); err != nil {
			return fmt.Errorf("%s: %w", createTable(t), err)
		}
		it, err := snap.Scan(t.Primary(), nil)
		if err != nil {
			return err
		}
		cols := len(t.Columns())
		tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
		var args []any
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			rows := len(args) / cols
			q := fmt.Sprintf("INSERT INTO `%s`.`%s` VALUES %s", name, t.Name(), strings.TrimSuffix(strings.Repeat(tuple+",", rows), ","))
			_, err := conn.ExecContext(ctx, q, args...)
			args = args[:0]
			return err
		}
		for row := it.NextRow(); row != nil; row = it.NextRow() {
			args = append(args, row...)
			if len(args)/cols >= 500 {
				if err := flush(); err != nil {
					return fmt.Errorf("insert into %s: %w", t.Name(), err)
				}
			}
		}
		if err := flush(); err != nil {
			return fmt.Errorf("insert into %s: %w", t.Name(), err)
		}
	}
	_, err := conn.ExecContext(ctx, "ANALYZE TABLE "+tableList(name, tables))
	return err
}

func tableList(db string, tables []*memdb.Table) string {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = "`" + db + "`.`" + t.Name() + "`"
	}
	return strings.Join(names, ", ")
}
