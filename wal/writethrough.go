package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Write-through for Append without sync.
//
// Pebble commits a batch without sync (pebble.NoSync) into its WAL writer's
// in-memory block; its flush goroutine writes that block to the file only
// when the block is full (32 KiB) or a sync is asked for. An acknowledged
// command could thus sit in the process's memory for as long as no sync came,
// and a plain process kill lost it (the attack lost 8 to 208 commands per
// SIGKILL with --durability interval=1s). Pebble v2.1.7 has no "write the WAL
// without fsync" entry point: DB.LogData and Batch.Commit with NoSync do not
// wake the flusher, WALBytesPerSync only adds background syncs of what was
// already written, and a failed-over WAL still writes through the same flusher.
//
// What it has: a commit that asks for a sync (DB.ApplyNoSyncWait) wakes the
// flusher, and Options.WALMinSyncInterval makes the flusher write what it
// has but hold the fsync back until the interval since the previous fsync
// has passed (the waiters are told at that later fsync). So an Append
// without sync is committed with ApplyNoSyncWait and then waits only until
// the WAL file has received the batch's record through write(2); the batch
// waits for its fsync on a background goroutine (syncer), which advances
// SyncedSeq. Pebble fsyncs at most once per SyncInterval and at least once
// per SyncInterval while anything waits: Redis's everysec.
//
// To see the write, Options.FS is wrapped: the files Pebble creates as WAL
// files (write category "pebble-wal") pass every Write through a parser of
// the WAL's chunk format (record package: 32 KiB blocks of chunks, each a
// header and a fragment of a record; a record is one batch, whose first 8
// bytes are the batch's Pebble sequence number). The parser reports the
// sequence number of each record whose last byte was written. An Append
// returns when its batch's number has been seen, or, failing that (a batch
// large enough to be flushed as its own memtable, whose number Pebble
// forgets, or a chunk this parser does not know), when its fsync is done: a
// parser that loses track costs latency, never an acknowledgement too early.
//
// Measured (go test ./wal/ -run XXX -bench 'Append$' -benchtime 3s, 2
// cores, 200-byte entries): Append without sync of 1 entry 7-8 us before
// (NoSync, not written through), 16-18 us written through; of 16 entries
// 80 us before, 82-99 us after. Synced, for comparison: 0.5-1.5 ms (this
// disk's fsync), so "every Append synced with group commit" would cost the
// single writer 100x; the write-through costs one write(2) and a wake-up of
// Pebble's flusher per Append.

// maxHeldSync bounds how long Pebble holds an fsync back, below
// SyncInterval: Pebble lets at most 4095 commits wait for an fsync
// (record.SyncConcurrency); the next one blocks until the fsync. Holding
// syncs for 1s capped Append at about 4k per second (245-300 us per Append
// in BenchmarkAppend/nosync); 100 ms at 32 us; 20 ms at 16 us, no longer
// limited by the slots. The price is up to 50 fsyncs a second while
// Appends keep coming (none when idle), and a shorter window of loss.
const maxHeldSync = 20 * time.Millisecond

// walWriteCategory is the category Pebble's WAL manager creates WAL files
// with (wal/standalone_manager.go).
const walWriteCategory vfs.DiskWriteCategory = "pebble-wal"

// watch follows what Pebble's WAL writer handed to the OS (by batch
// seqnum) and holds the batches waiting for their fsync, each with a ticket
// (1, 2, …) in commit order.
type watch struct {
	mu       sync.Mutex
	cond     sync.Cond
	written  uint64 // the highest batch seqnum whose WAL record was fully written
	queued   uint64 // tickets handed out
	finished uint64 // tickets whose batch was synced
	pending  []pendingSync
	closing  bool
	err      error // the WAL failed: waiters return it
	done     chan struct{}
}

// pendingSync is a batch committed with ApplyNoSyncWait: it must be
// SyncWait-ed before Close. seq is the last entry it holds (0: none).
type pendingSync struct {
	b   *pebble.Batch
	seq uint64
}

func newWatch() *watch {
	w := &watch{done: make(chan struct{})}
	w.cond.L = &w.mu
	return w
}

// advance records that the batch with Pebble seqnum seq was written.
func (w *watch) advance(seq uint64) {
	w.mu.Lock()
	if seq > w.written {
		w.written = seq
		w.cond.Broadcast()
	}
	w.mu.Unlock()
}

// fail records a failure of the WAL: every waiter returns err.
func (w *watch) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.cond.Broadcast()
	w.mu.Unlock()
}

// enqueue hands a batch to the syncer and returns its ticket.
func (w *watch) enqueue(p pendingSync) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p)
	w.queued++
	w.cond.Broadcast()
	return w.queued
}

// waitWritten returns once the batch with Pebble seqnum seq (0: unknown)
// was written to the OS, or its ticket's fsync is done, or the WAL failed.
func (w *watch) waitWritten(seq, ticket uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for (seq == 0 || w.written < seq) && w.finished < ticket && w.err == nil {
		w.cond.Wait()
	}
	if w.finished >= ticket || (seq > 0 && w.written >= seq) {
		return nil
	}
	return w.err
}

// waitSynced returns once ticket's fsync is done, or the WAL failed.
func (w *watch) waitSynced(ticket uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.finished < ticket && w.err == nil {
		w.cond.Wait()
	}
	if w.finished >= ticket {
		return nil
	}
	return w.err
}

// syncer waits for the fsync of each pending batch in commit order (Pebble
// syncs in that order), closes it, and advances the log's synced seq.
func (l *Log) syncer() {
	w := l.watch
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.pending) == 0 && !w.closing {
			w.cond.Wait()
		}
		if len(w.pending) == 0 {
			w.mu.Unlock()
			return
		}
		p := w.pending[0]
		w.pending[0] = pendingSync{}
		w.pending = w.pending[1:]
		w.mu.Unlock()

		if err := p.b.SyncWait(); err != nil {
			l.failed.Store(true)
			w.fail(fmt.Errorf("%w: sync the WAL: %w", ErrFailed, err))
			continue // the batch stays unclosed: Pebble may still hold it
		}
		p.b.Close()
		if p.seq > 0 {
			storeMax(&l.synced, p.seq)
		}
		w.mu.Lock()
		w.finished++
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// storeMax raises v to x if x is higher.
func storeMax(v *atomic.Uint64, x uint64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// applyAsync commits b asking for an fsync without waiting for it and hands
// it to the syncer (b belongs to it then); seq is the last entry b holds (0:
// none). It returns b's ticket and Pebble seqnum (0 if Pebble dropped b's
// data: a batch large enough to become a memtable of its own).
func (l *Log) applyAsync(b *pebble.Batch, seq uint64) (ticket, pebbleSeq uint64, err error) {
	if err := l.guard(func() error { return l.db.ApplyNoSyncWait(b, pebble.Sync) }); err != nil {
		return 0, 0, err
	}
	pebbleSeq = uint64(b.SeqNum())
	return l.watch.enqueue(pendingSync{b: b, seq: seq}), pebbleSeq, nil
}

// stopSyncer lets the syncer finish the batches it has and waits for it.
func (l *Log) stopSyncer() {
	if l.watch == nil {
		return
	}
	l.watch.mu.Lock()
	l.watch.closing = true
	l.watch.cond.Broadcast()
	l.watch.mu.Unlock()
	<-l.watch.done
}

// watchFS wraps the log's file system: the WAL files it creates report the
// records written to them.
type watchFS struct {
	vfs.FS
	w *watch
}

func (fs watchFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return fs.wrap(f, category), err
}

func (fs watchFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return fs.wrap(f, category), err
}

func (fs watchFS) wrap(f vfs.File, category vfs.DiskWriteCategory) vfs.File {
	if f == nil || category != walWriteCategory {
		return f
	}
	return &walFile{File: f, w: fs.w}
}

// walFile is a WAL file being written: every Write is parsed for the
// records it completes.
type walFile struct {
	vfs.File
	w *watch
	p chunkParser
}

func (f *walFile) Write(b []byte) (int, error) {
	n, err := f.File.Write(b)
	if err != nil {
		f.w.fail(fmt.Errorf("%w: write the WAL: %w", ErrFailed, err))
		return n, err
	}
	if top := f.p.feed(b[:n]); top > 0 {
		f.w.advance(top)
	}
	return n, nil
}

// WAL format constants (pebble/record): a file is a sequence of 32 KiB
// blocks; a block holds chunks; a chunk header is crc(4) size(2) type(1)
// [log number(4) [synced offset(8)]] depending on the type; a block's tail
// too short for a header is zeros.
const (
	walBlockSize     = 32 << 10
	legacyHeaderSize = 7
)

// chunkHeaderSize is the header size of a chunk type (0: unknown type).
// Types 1-4 are legacy chunks, 5-8 recyclable, 9-12 WAL sync chunks; within
// each, full, first, middle, last.
func chunkHeaderSize(typ byte) int {
	switch {
	case typ >= 1 && typ <= 4:
		return 7
	case typ >= 5 && typ <= 8:
		return 11
	case typ >= 9 && typ <= 12:
		return 19
	}
	return 0
}

// chunkParser follows a WAL file's bytes in order as they are written, in
// pieces of any size, and reports the batch seqnum of each record it sees
// complete. It never fails: on bytes it does not understand it stops
// reporting (lost), and waiters fall back to the fsync.
type chunkParser struct {
	off     int64    // file offset of the next byte
	hdr     [19]byte // the header being read
	nhdr    int
	left    int  // payload bytes of the current chunk still to come
	pad     int  // zero bytes to the end of the block still to come
	last    bool // the current chunk ends its record
	seq     [8]byte
	nseq    int // bytes of the current record's first 8 read
	lost    bool
	errNote error
}

var errUnknownChunk = errors.New("wal: unknown WAL chunk type")

// feed parses b and returns the highest batch seqnum of the records b
// completes (0: none).
func (c *chunkParser) feed(b []byte) (top uint64) {
	c.feedEach(b, func(seq uint64) { top = max(top, seq) })
	return top
}

// feedEach parses b and calls done with the batch seqnum of each record b
// completes.
func (c *chunkParser) feedEach(b []byte, done func(uint64)) {
	for len(b) > 0 && !c.lost {
		if c.pad > 0 {
			k := min(c.pad, len(b))
			b, c.off, c.pad = b[k:], c.off+int64(k), c.pad-k
			continue
		}
		if c.left > 0 {
			k := min(c.left, len(b))
			if c.nseq < 8 {
				c.nseq += copy(c.seq[c.nseq:], b[:k])
			}
			b, c.off, c.left = b[k:], c.off+int64(k), c.left-k
			if c.left == 0 && c.last {
				c.recordDone(done)
			}
			continue
		}
		rem := int(walBlockSize - c.off%walBlockSize)
		if c.nhdr == 0 && rem < legacyHeaderSize { // a block's zero tail
			c.pad = rem
			continue
		}
		need := legacyHeaderSize
		if c.nhdr >= legacyHeaderSize {
			need = chunkHeaderSize(c.hdr[6])
		}
		k := min(need-c.nhdr, len(b))
		copy(c.hdr[c.nhdr:], b[:k])
		b, c.off, c.nhdr = b[k:], c.off+int64(k), c.nhdr+k
		if c.nhdr < need {
			continue
		}
		typ := c.hdr[6]
		if typ == 0 { // zeros: the rest of the block is padding
			c.nhdr = 0
			c.pad = rem - legacyHeaderSize
			continue
		}
		size := chunkHeaderSize(typ)
		if size == 0 {
			c.lost, c.errNote = true, fmt.Errorf("%w %d at offset %d", errUnknownChunk, typ, c.off-int64(c.nhdr))
			return
		}
		if c.nhdr < size {
			continue // read the rest of the header
		}
		c.nhdr = 0
		kind := (typ - 1) % 4 // 0 full, 1 first, 2 middle, 3 last
		if kind == 0 || kind == 1 {
			c.nseq = 0
		}
		c.last = kind == 0 || kind == 3
		c.left = int(binary.LittleEndian.Uint16(c.hdr[4:6]))
		if c.left == 0 && c.last {
			c.recordDone(done)
		}
	}
}

// recordDone reports the seqnum of the record just completed, unless it is
// shorter than a batch header (the EOF trailer is empty).
func (c *chunkParser) recordDone(done func(uint64)) {
	if c.nseq == 8 {
		done(binary.LittleEndian.Uint64(c.seq[:]))
	}
}
