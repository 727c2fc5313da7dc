package wal

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/sstable"
)

// TableDamage is a table of the log whose blocks do not all match their
// checksums: the entries From..To it holds (by its key range) may be
// unreadable. A checkpoint past To makes them unneeded for a start; they
// are still lost for replay from earlier and for the history.
type TableDamage struct {
	File     string
	Level    int
	From, To uint64 // the entry seqs in the table's key range (0, 0: no entries)
	Err      error
}

func (d TableDamage) Error() string {
	return fmt.Sprintf("wal: table %s (level %d, entries %d..%d) is damaged: %s", filepath.Base(d.File), d.Level, d.From, d.To, firstLine(d.Err))
}

// CheckTables verifies the checksum of every block of every table of the
// log and returns the damaged ones. It reads the tables' bytes once without
// decoding entries (disk speed, not the ~1M entries/s of Check), so a
// caller can run it at open, in the background, and report what it finds:
// Pebble itself verifies a block only when a read touches it, and a start
// whose checkpoint covers a damaged table reads none of it.
func (l *Log) CheckTables() ([]TableDamage, error) {
	levels, err := l.db.SSTables()
	if err != nil {
		return nil, fmt.Errorf("wal: list tables: %w", err)
	}
	var damage []TableDamage
	for level, tables := range levels {
		for _, t := range tables {
			path := l.fs.PathJoin(l.dir, fmt.Sprintf("%06d.sst", uint64(t.BackingSSTNum)))
			d := TableDamage{File: path, Level: level}
			if seq, err := decodeKey(t.Smallest.UserKey); err == nil {
				d.From = seq
			}
			if seq, err := decodeKey(t.Largest.UserKey); err == nil {
				d.To = seq
			}
			if err := l.checkTable(path); err != nil {
				d.Err = err
				damage = append(damage, d)
			}
		}
	}
	return damage, nil
}

// checkTable validates the block checksums of the table at path.
func (l *Log) checkTable(path string) error {
	f, err := l.fs.Open(path)
	if err != nil {
		return err
	}
	readable, err := sstable.NewSimpleReadable(f)
	if err != nil {
		f.Close()
		return err
	}
	r, err := sstable.NewReader(context.Background(), readable, sstable.ReaderOptions{})
	if err != nil {
		readable.Close()
		return err
	}
	err = r.ValidateBlockChecksums()
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return err
}
