package main

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	gomemdb "github.com/hashicorp/go-memdb"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/gcpolicy"
	"github.com/imagodb/imago/memdb"
)

// The floor of a restore is what go-memdb alone costs to hold the image:
// every index entry of the checkpoint's image inserted through go-memdb's
// public API, each index's entries given sorted, the indexes built on
// GOMAXPROCS goroutines (an index is one go-memdb database, as in the
// image), with the collector off as it is during recovery. It leaves out
// everything else a restore does (reading, checking and decompressing the
// file, decoding rows, encoding and sorting keys), so floor time over
// restore time says how close a restore comes to go-memdb's own cost.
//
// The phase measures both in one process, in turn (a restore, the floor,
// a restore, ...), so that both see the machine in the same state: the
// restore is checkpoint.Load into a new image with the collector paused,
// as imago.Open does it. Before each, the heap's free memory goes back to
// the system, so both take fresh pages as a restarting process does (the
// floor on memory the runtime had already mapped took 0.6 s less CPU of
// 3 s on 453k rows: what it gained was page faults and span setup).

// round is one restore and one floor, wall and CPU time.
type round struct {
	LoadMS, LoadCPUMS   float64
	FloorMS, FloorCPUMS float64
}

// floorRounds loads the newest checkpoint of dir n times, each followed by
// the floor of its index entries, and returns the rows, the index entries
// and the rounds. With a profile directory, the first load and floor are
// profiled (load.cpu.pprof, floor.cpu.pprof).
func floorRounds(dir string, n int, profile string) (rows, entries int64, rounds []round, err error) {
	files, err := checkpoint.List(imago.CheckpointDir(dir))
	if err != nil || len(files) == 0 {
		return 0, 0, nil, fmt.Errorf("floor: no checkpoint in %s (%v)", dir, err)
	}
	app := shop.App()
	var indexes [][]*floorEntry
	for i := range n {
		var r round
		prof := ""
		if i == 0 {
			prof = profile
		}
		im, err := app.NewImage()
		if err != nil {
			return 0, 0, nil, err
		}
		debug.FreeOSMemory()
		var st checkpoint.Stats
		wall, cpu, err := timed(prof, "load", func() error {
			resume := gcpolicy.Pause()
			defer resume()
			_, st, err = checkpoint.Load(files[0].Path, im, app.Fingerprint(), nil)
			return err
		})
		if err != nil {
			return 0, 0, nil, err
		}
		r.LoadMS, r.LoadCPUMS, rows = ms(wall), ms(cpu), st.Rows
		if indexes == nil {
			if indexes, err = indexEntries(im.Snapshot()); err != nil {
				return 0, 0, nil, err
			}
			for _, ix := range indexes {
				entries += int64(len(ix))
			}
		}
		im = nil
		debug.FreeOSMemory()
		wall, cpu, err = timed(prof, "floor", func() error { return insertFloor(indexes) })
		if err != nil {
			return 0, 0, nil, err
		}
		r.FloorMS, r.FloorCPUMS = ms(wall), ms(cpu)
		rounds = append(rounds, r)
	}
	return rows, entries, rounds, nil
}

// timed runs f and returns the wall time and the process's CPU time (user
// and system) it took; with a profile directory, f's CPU profile is written
// there as <name>.cpu.pprof.
func timed(profile, name string, f func() error) (wall, cpu time.Duration, err error) {
	if profile != "" {
		stop, err := startProfile(profile, name, false)
		if err != nil {
			return 0, 0, err
		}
		defer stop()
	}
	cpu0, t0 := cpuTime(), time.Now()
	err = f()
	return time.Since(t0), cpuTime() - cpu0, err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// floorEntry is an index entry as the floor inserts it: the key and the row.
type floorEntry struct {
	key []byte
	row memdb.Row
}

// floorIndex is the go-memdb indexer of a floor tree: an entry's key is its
// own (as in the image: no key is encoded during an insert).
type floorIndex struct{}

func (floorIndex) FromObject(obj any) (bool, []byte, error) { return true, obj.(*floorEntry).key, nil }

func (floorIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("floor: one key, got %d", len(args))
	}
	return args[0].([]byte), nil
}

var floorSchema = &gomemdb.DBSchema{Tables: map[string]*gomemdb.TableSchema{
	"entries": {Name: "entries", Indexes: map[string]*gomemdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: floorIndex{}},
	}},
}}

// indexEntries returns the entries of every index of snap, each index's in
// key order.
func indexEntries(snap *memdb.Snapshot) ([][]*floorEntry, error) {
	var all [][]*floorEntry
	for _, t := range snap.Tables() {
		for _, ix := range append([]*memdb.Index{t.Primary()}, t.Indexes()...) {
			it, err := snap.Scan(ix, nil)
			if err != nil {
				return nil, err
			}
			entries := make([]floorEntry, 0, snap.Count(t))
			for row, key := it.Next(); row != nil; row, key = it.Next() {
				entries = append(entries, floorEntry{key: key, row: row})
			}
			ptrs := make([]*floorEntry, len(entries))
			for i := range entries {
				ptrs[i] = &entries[i]
			}
			all = append(all, ptrs)
		}
	}
	return all, nil
}

// insertFloor inserts each index's entries into a new go-memdb database of
// its own, the largest indexes first, on GOMAXPROCS goroutines, with the
// collector paused.
func insertFloor(indexes [][]*floorEntry) error {
	resume := gcpolicy.Pause()
	defer resume()
	slices.SortFunc(indexes, func(a, b []*floorEntry) int { return cmp.Compare(len(b), len(a)) })
	dbs := make([]*gomemdb.MemDB, len(indexes))
	for i := range dbs {
		db, err := gomemdb.NewMemDB(floorSchema)
		if err != nil {
			return err
		}
		// As the image does: a snapshot's writes are not tracked for
		// watchers (tracking made a large commit walk both trees).
		dbs[i] = db.Snapshot()
	}
	errs := make([]error, len(indexes))
	next := make(chan int, len(indexes))
	for i := range indexes {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				tx := dbs[i].Txn(true)
				for _, e := range indexes[i] {
					if err := tx.Insert("entries", e); err != nil {
						errs[i] = err
						break
					}
				}
				tx.Commit()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
