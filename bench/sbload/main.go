// Command sbload loads the same sbtest1 rows into Imago (through the HTTP
// write API, as insert_rows commands) and into a MySQL-compatible peer
// (through INSERT statements), for bench/sysbench.sh.
package main

import (
	"bytes"
	gosql "database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago/bench/sbtest"
)

func main() {
	imagoURL := flag.String("imago", "http://127.0.0.1:8080", "Imago's HTTP address (empty: skip)")
	peerDSN := flag.String("peer", "", "go-sql-driver DSN of the peer, e.g. root@tcp(127.0.0.1:3307)/ (empty: skip)")
	rows := flag.Int("rows", 100000, "table size")
	seed := flag.Uint64("seed", 1, "data seed")
	flag.Parse()
	if err := run(*imagoURL, *peerDSN, *rows, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "sbload:", err)
		os.Exit(1)
	}
}

func run(imagoURL, peerDSN string, rows int, seed uint64) error {
	if imagoURL != "" {
		start := time.Now()
		if err := loadImago(imagoURL, rows, seed); err != nil {
			return err
		}
		fmt.Printf("imago: %d rows loaded in %.1fs\n", rows, time.Since(start).Seconds())
	}
	if peerDSN != "" {
		start := time.Now()
		if err := loadPeer(peerDSN, rows, seed); err != nil {
			return err
		}
		fmt.Printf("peer: %d rows loaded in %.1fs\n", rows, time.Since(start).Seconds())
	}
	return nil
}

func loadImago(base string, rows int, seed uint64) error {
	for first := 1; first <= rows; first += sbtest.MaxRows {
		n := min(sbtest.MaxRows, rows-first+1)
		body, err := json.Marshal(sbtest.InsertRows{Rows: sbtest.Generate(seed, rows, first, n)})
		if err != nil {
			return err
		}
		resp, err := http.Post(base+"/v1/commands/insert_rows", "application/json", bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("imago: %w", err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("imago: rows from %d: %s: %s", first, resp.Status, msg)
		}
	}
	return nil
}

func loadPeer(dsn string, rows int, seed uint64) error {
	db, err := gosql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range []string{
		"CREATE DATABASE IF NOT EXISTS sbtest", "DROP TABLE IF EXISTS sbtest.sbtest1",
		// sysbench's own DDL for sbtest tables.
		"CREATE TABLE sbtest.sbtest1 (id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, " +
			"c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id)) ENGINE = InnoDB",
	} {
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("peer: %s: %w", stmt, err)
		}
	}
	for first := 1; first <= rows; first += sbtest.MaxRows {
		batch := sbtest.Generate(seed, rows, first, min(sbtest.MaxRows, rows-first+1))
		var q strings.Builder
		q.WriteString("INSERT INTO sbtest.sbtest1 (id, k, c, pad) VALUES ")
		args := make([]any, 0, 4*len(batch))
		for i, r := range batch {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?,?,?,?)")
			args = append(args, r.ID, r.K, r.C, r.Pad)
		}
		if _, err := db.Exec(q.String(), args...); err != nil {
			return fmt.Errorf("peer: rows from %d: %w", first, err)
		}
	}
	// sysbench creates the secondary index after loading, as here.
	if _, err := db.Exec("CREATE INDEX k_1 ON sbtest.sbtest1 (k)"); err != nil {
		return fmt.Errorf("peer: index: %w", err)
	}
	return nil
}
