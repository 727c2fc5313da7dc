// Package wal is the command log: an append-only sequence of opaque entries
// keyed by a sequence number (1, 2, 3, … with no gaps), stored in Pebble.
//
// Guarantees:
//   - Append writes a whole batch of entries in one Pebble batch: after a crash
//     either all of them are there or none is.
//   - Append with sync returns only after the batch is on stable storage.
//   - Append without sync returns only after the batch was written to the OS
//     (write(2)): a process crash loses no acknowledged entry; a machine
//     crash loses at most the entries of the last min(SyncInterval, 20ms),
//     which the log fsyncs on its own (writethrough.go). SyncedSeq tells
//     what is fsynced.
//   - Sequence numbers are contiguous: Append refuses a batch that does not
//     start at LastSeq()+1 or has a gap.
//   - The log begins at FirstSeq, 1 unless Truncate removed a prefix of it;
//     a read of a removed entry fails with a *TruncatedError, never
//     returns less than it was asked without saying so.
//   - A lost tail is noticed: Open refuses a log that ends before its
//     high-water mark (MarkPath, beside the directory) with a
//     *LostEntriesError, until AcceptLoss records that the operator gave the
//     entries up. The mark lags the synced seq by up to a second, so a loss
//     within that last second is not seen by the mark (mark.go).
//   - A damaged WAL file is named: Open fails with a *WALDamageError (file,
//     offset, last entry before it), and Options.InspectDamage opens the log
//     read-only up to the damage for the verifier (waldamage.go).
//   - A full disk at Open is an error naming the directory and the free
//     space (*DiskFullError), not a silent retry loop (space.go).
//   - Readers see only entries up to the last appended seq: Read never goes
//     past LastSeq, so an entry Pebble made visible before it was durable is
//     never handed out by this package before Append returned.
//
// wal knows nothing of what an entry holds; commands/ encodes envelopes.
package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Key layout. Every key starts with a prefix byte naming its keyspace;
// iterators are always bounded to one keyspace.
const (
	prefixEntry  byte = 0x01 // 0x01 + big-endian uint64 seq -> entry
	prefixMeta   byte = 0x02 // 0x02 + name -> metadata
	prefixCursor byte = 0x03 // 0x03 + name -> big-endian uint64 seq (see cursor.go)
)

// metaFirst names the metadata entry holding FirstSeq (big-endian uint64);
// absent until the first Truncate.
const metaFirst = "first"

func metaKey(name string) []byte { return append([]byte{prefixMeta}, name...) }

// ErrFailed is returned by every call after the log failed to write or sync.
// The process must restart: what was acknowledged is on disk, what was not
// may or may not be, and only a reopen can tell.
var ErrFailed = errors.New("wal: the log failed to write; restart to recover")

// Entry is one log entry.
type Entry struct {
	Seq  uint64
	Data []byte
}

// ErrLocked is returned by Open when another process has the log open:
// Pebble allows one process per directory.
var ErrLocked = errors.New("wal: the log is open in another process")

// Options configure Open.
type Options struct {
	// FS replaces the file system (tests inject faults with it). Nil: the OS.
	FS vfs.FS
	// ReadOnly opens an existing log for reading: nothing in the directory
	// changes (tools that inspect a stopped server's data use it).
	ReadOnly bool
	// SyncInterval is for Append without sync (durability "interval"): such
	// an Append returns once its entries were written to the OS (a process
	// crash loses none of them), and the log fsyncs them on its own within
	// min(SyncInterval, 20ms) (maxHeldSync: a machine crash loses at most
	// that window; no caller Sync is needed). Appends with sync, Sync and
	// Truncate then wait for that next fsync. A log for durability "always"
	// leaves it 0: an Append without sync then asks for an fsync at once
	// but still returns when its bytes were written.
	SyncInterval time.Duration

	// InspectDamage (with ReadOnly) opens a log whose WAL is damaged (Open
	// would fail with a *WALDamageError): the damaged file is read up to
	// the damage, later WAL files are left out, and WALDamage tells where
	// it was. For the log verifier; nothing on disk changes.
	InspectDamage bool

	acceptLoss bool // AcceptLoss's open: a log below its mark is opened
}

// Log is an open command log. Append is for one writer at a time; Read,
// LastSeq and FirstSeq are safe concurrently with it.
type Log struct {
	db       *pebble.DB
	lock     *pebble.Lock
	readOnly bool
	mu       sync.Mutex    // serializes Append and Sync
	first    atomic.Uint64 // entries before it were removed by Truncate
	last     atomic.Uint64
	synced   atomic.Uint64 // the last seq known to be on stable storage
	appended atomic.Uint64 // bytes of entry data appended since Open
	failed   atomic.Bool
	watch    *watch // what Pebble's WAL writer wrote and synced (writethrough.go); nil read-only

	dir      string
	fs       vfs.FS // the file system as given (Pebble's is wrapped)
	markMu   sync.Mutex
	marked   uint64                // the high-water mark written (mark.go)
	markErr  atomic.Pointer[error] // of the last write of the mark
	markStop chan struct{}
	markDone chan struct{}

	walDamage *WALDamageError // the damage an InspectDamage open stepped over
}

// WALDamage is the damaged WAL file a log opened with InspectDamage was
// read up to (nil: its WAL is whole).
func (l *Log) WALDamage() *WALDamageError { return l.walDamage }

// pebbleOptions are chosen for a log: sequential keys, written once, read in
// ranges, never updated.
func pebbleOptions(o Options) *pebble.Options {
	interval := min(o.SyncInterval, maxHeldSync)
	opts := &pebble.Options{
		// Holds an fsync back until this long after the previous one; what
		// is committed meanwhile is still written (see writethrough.go).
		WALMinSyncInterval: func() time.Duration { return interval },
		// Pinned: a new store otherwise gets an old default format without WAL
		// sync chunks, which lets recovery tell a torn tail from corruption.
		FormatMajorVersion: pebble.FormatValueSeparation,
		// The memtable's size sets the disk a log costs beyond its entries:
		// Pebble preallocates each WAL file at 1.1× the memtable (and, before
		// the Cleaner below, kept three spent ones for reuse), so a 64 MiB
		// memtable held four 70 MiB files, 2,953 bytes per 200-byte entry
		// after 200,000 entries (BenchmarkDiskPerEntry); 4 MiB (Pebble's
		// default) holds 137 running and 124 after Close (tables
		// compressed) at the same append speed (BenchmarkAppend nosync:
		// 70 µs per batch of 16, against 69 at 64 MiB). A group commit
		// (≤1024 commands) stays well under half of it, where a batch would
		// force a rotation.
		MemTableSize: memTableSize,
		// Keys only ever grow, so flushed tables never overlap: compactions are
		// cheap moves and L0 rarely stalls writes.
		L0CompactionThreshold: 4,
		L0StopWritesThreshold: 1000,
		// A failed WAL write or sync makes Pebble call Fatalf, which would exit
		// the process. Our logger panics instead; Append recovers it and turns
		// it into ErrFailed, so the caller fails stop with a reason.
		Logger: fatalPanics{},
		// Pebble's default reports a damaged block through Fatalf; here the
		// read that met it fails instead (UnreadableError names the entry),
		// so a tool can report the damage and a server can say what it hit.
		EventListener: &pebble.EventListener{DataCorruption: func(pebble.DataCorruptionInfo) {}},
		FS:            o.FS,
		ReadOnly:      o.ReadOnly,
		// No recycled WAL files: they would keep redacted bytes (rewrite.go).
		Cleaner: pebble.ArchiveCleaner{},
	}
	fs := o.FS
	if fs == nil {
		fs = vfs.Default
	}
	opts.EventListener.WALDeleted = func(i pebble.WALDeleteInfo) { removeArchived(fs, i.Path) }
	opts.EventListener.ManifestDeleted = func(i pebble.ManifestDeleteInfo) { removeArchived(fs, i.Path) }
	// No bloom filters (Levels[i].FilterPolicy stays nil): a log is read in
	// ranges, never by point lookups of absent keys, so filters only cost.
	return opts
}

// Open opens or creates the log in dir, recovering after a crash: a torn
// tail is dropped by Pebble's WAL recovery, synced batches are kept.
func Open(dir string, o Options) (*Log, error) {
	opts := pebbleOptions(o)
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	baseFS := opts.FS
	if _, err := opts.FS.Stat(dir); err != nil && o.ReadOnly {
		return nil, fmt.Errorf("wal: no log in %s: %w", dir, err)
	}
	if err := opts.FS.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	// Taken before Open so that "in use" is told apart from other failures.
	lock, err := pebble.LockDirectory(dir, opts.FS)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) { // the lock file could not be created: not a lock held elsewhere
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s (%v)", ErrLocked, dir, err)
	}
	opts.Lock = lock
	var w *watch
	if !o.ReadOnly {
		w = newWatch()
		opts.FS = watchFS{FS: opts.FS, w: w}
	}
	var db *pebble.DB
	if o.ReadOnly {
		db, err = pebble.Open(dir, opts)
	} else if err = checkSpace(baseFS, dir); err == nil {
		db, err = openWatchingSpace(dir, opts)
	}
	var walDamage *WALDamageError
	if err != nil && (errors.Is(err, pebble.ErrCorruption) || invalidRecord(err)) {
		// Say which file, where, and what comes before (waldamage.go).
		if d, ferr := FindWALDamage(dir, baseFS); ferr == nil && d != nil {
			d.Err = err
			walDamage, err = d, d
			if o.ReadOnly && o.InspectDamage {
				db, err = openDamaged(dir, opts, d)
			}
		}
	}
	if err != nil {
		var full *DiskFullError
		if !errors.As(err, &full) || full.Err == nil {
			lock.Close() // else a Pebble still retrying holds it until exit
		}
		if full != nil || (walDamage != nil && errors.Is(err, walDamage)) {
			return nil, err
		}
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	l := &Log{db: db, lock: lock, readOnly: o.ReadOnly, watch: w, dir: dir, fs: baseFS, walDamage: walDamage}
	first, last, err := l.scanBounds()
	if err == nil {
		l.marked, err = readMark(baseFS, dir)
		if markErr := err; err != nil && o.ReadOnly { // a tool inspecting the log: it can ask MarkErr
			l.markErr.Store(&markErr)
			err = nil
		}
	}
	if err == nil && l.marked > last && !o.ReadOnly && !o.acceptLoss {
		err = &LostEntriesError{Dir: dir, Mark: l.marked, Last: last}
	}
	if err != nil {
		db.Close()
		lock.Close()
		return nil, err
	}
	l.first.Store(first)
	l.last.Store(last)
	// What Pebble recovered was synced, or the OS had it: it is as durable
	// as this process can tell.
	l.synced.Store(last)
	if w != nil {
		go l.syncer()
		l.markStop, l.markDone = make(chan struct{}), make(chan struct{})
		go l.markLoop(l.markStop, l.markDone)
		l.removeArchive() // obsolete files Pebble archived before it could report them
	}
	return l, nil
}

// scanBounds reads FirstSeq from its metadata entry and LastSeq from the
// last entry key. A log truncated up to its last entry holds no entry: its
// last seq is then FirstSeq-1.
func (l *Log) scanBounds() (first, last uint64, err error) {
	first = 1
	v, closer, err := l.db.Get(metaKey(metaFirst))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return 0, 0, fmt.Errorf("wal: read the log's first seq: %w", err)
	case len(v) != 8:
		closer.Close()
		return 0, 0, fmt.Errorf("wal: the log's first-seq entry is malformed (%d bytes)", len(v))
	default:
		first = binary.BigEndian.Uint64(v)
		closer.Close()
	}
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixEntry}, UpperBound: []byte{prefixEntry + 1}})
	if err != nil {
		return 0, 0, fmt.Errorf("wal: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return first, first - 1, it.Error()
	}
	last, err = decodeKey(it.Key())
	return first, max(last, first-1), err
}

func entryKey(seq uint64) []byte {
	var k [9]byte
	k[0] = prefixEntry
	binary.BigEndian.PutUint64(k[1:], seq)
	return k[:]
}

func decodeKey(k []byte) (uint64, error) {
	if len(k) != 9 || k[0] != prefixEntry {
		return 0, fmt.Errorf("wal: malformed entry key %x", k)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// LastSeq is the seq of the last appended entry, 0 for an empty log.
func (l *Log) LastSeq() uint64 { return l.last.Load() }

// FirstSeq is the seq the log begins at: 1, unless Truncate removed the
// entries before it. A log truncated up to its end holds no entry and has
// FirstSeq == LastSeq+1.
func (l *Log) FirstSeq() uint64 { return l.first.Load() }

// TruncatedError is a read of entries that Truncate removed.
type TruncatedError struct {
	From  uint64 // the first seq asked for
	First uint64 // the log's FirstSeq
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("entry %d was removed: the log was truncated and begins at seq %d", e.From, e.First)
}

// Truncate removes the entries with seq < before, for good, and makes before
// the log's FirstSeq, and the disk space they took is given back soon after.
// It is the only operation that removes entries: the
// caller must hold the state they produced elsewhere (a checkpoint). The
// removal and the new FirstSeq are one synced batch, so a crash leaves
// either the old log or the truncated one. before may be at most LastSeq+1;
// a before not after FirstSeq changes nothing.
func (l *Log) Truncate(before uint64) error {
	if l.readOnly {
		return errors.New("wal: truncate: the log is open read-only")
	}
	ticket, err := l.truncate(before)
	if err != nil || ticket == 0 {
		return err
	}
	// Waited for without holding up Append: with SyncInterval set, Pebble
	// holds the fsync back up to 20ms (maxHeldSync).
	if err := l.watch.waitSynced(ticket); err != nil {
		l.failed.Store(true)
		return err
	}
	// The range deletion frees disk only once it is in a table: Pebble then
	// drops the tables it covers (a delete-only compaction, no rewrite).
	// Flushing now rather than at the memtable's next rotation frees the
	// space at once; the writer does not wait for it.
	if _, err := l.db.AsyncFlush(); err != nil {
		return fmt.Errorf("wal: truncate: flush: %w", err)
	}
	return nil
}

// truncate commits Truncate's batch and returns the ticket of its fsync (0:
// nothing to do).
func (l *Log) truncate(before uint64) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed.Load() {
		return 0, ErrFailed
	}
	first, last := l.first.Load(), l.last.Load()
	if before > last+1 {
		return 0, fmt.Errorf("wal: truncate before seq %d: the log ends at %d", before, last)
	}
	if before <= first {
		return 0, nil
	}
	b := l.db.NewBatch()
	if err := b.DeleteRange(entryKey(first), entryKey(before), nil); err != nil {
		b.Close()
		return 0, fmt.Errorf("wal: truncate: %w", err)
	}
	if err := b.Set(metaKey(metaFirst), binary.BigEndian.AppendUint64(nil, before), nil); err != nil {
		b.Close()
		return 0, fmt.Errorf("wal: truncate: %w", err)
	}
	// Stored before the commit: a reader that finds the entries gone then
	// always sees why (a failed commit fails the log for good anyway).
	l.first.Store(before)
	ticket, _, err := l.applyAsync(b, 0)
	return ticket, err
}

// AppendedBytes is the size of the entry data appended since Open: what
// the log grew by, before Pebble's compression and its own overhead.
func (l *Log) AppendedBytes() uint64 { return l.appended.Load() }

// SyncedSeq is the seq of the last entry known to be on stable storage:
// appended with sync, or followed by a Sync.
func (l *Log) SyncedSeq() uint64 { return l.synced.Load() }

// DiskBytes is the space the log's files take on disk.
func (l *Log) DiskBytes() uint64 { return l.db.Metrics().DiskSpaceUsage() }

// Append writes entries, which must continue the log without a gap, as one
// atomic batch. With sync it returns after the batch is durable.
func (l *Log) Append(entries []Entry, sync bool) (err error) {
	if len(entries) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed.Load() {
		return ErrFailed
	}
	if l.readOnly {
		return errors.New("wal: append: the log is open read-only")
	}
	next := l.last.Load() + 1
	for i, e := range entries {
		if e.Seq != next+uint64(i) {
			return fmt.Errorf("wal: entry %d has seq %d, want %d (the log has no gaps)", i, e.Seq, next+uint64(i))
		}
	}
	last := entries[len(entries)-1].Seq
	b := l.db.NewBatch()
	for _, e := range entries {
		if err := b.Set(entryKey(e.Seq), e.Data, nil); err != nil {
			b.Close()
			return fmt.Errorf("wal: batch: %w", err)
		}
	}
	if sync {
		err := l.commit(b, true)
		b.Close()
		if err != nil {
			return err
		}
	} else {
		// Written through to the OS before the entries are acknowledged
		// (writethrough.go); the fsync follows within SyncInterval.
		ticket, pebbleSeq, err := l.applyAsync(b, last)
		if err == nil {
			err = l.watch.waitWritten(pebbleSeq, ticket)
		}
		if err != nil {
			l.failed.Store(true)
			return err
		}
	}
	l.last.Store(last)
	for _, e := range entries {
		l.appended.Add(uint64(len(e.Data)))
	}
	if sync {
		l.synced.Store(last)
	}
	return nil
}

// Sync makes everything appended so far durable (for Append without sync),
// and the cursors set so far. It waits for the log's next fsync (at most
// SyncInterval away) without holding up Append meanwhile.
func (l *Log) Sync() error {
	if l.readOnly {
		return nil
	}
	l.mu.Lock()
	if l.failed.Load() {
		l.mu.Unlock()
		return ErrFailed
	}
	last := l.last.Load()
	b := l.db.NewBatch()
	// An empty LogData record is the cheapest batch that is not empty: its
	// fsync covers every earlier write.
	if err := b.LogData(nil, nil); err != nil {
		l.mu.Unlock()
		b.Close()
		return fmt.Errorf("wal: sync: %w", err)
	}
	ticket, _, err := l.applyAsync(b, last)
	l.mu.Unlock()
	if err == nil {
		err = l.watch.waitSynced(ticket)
	}
	if err != nil {
		l.failed.Store(true)
		return err
	}
	storeMax(&l.synced, last)
	return nil
}

func (l *Log) commit(b *pebble.Batch, sync bool) error {
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	return l.guard(func() error { return b.Commit(opts) })
}

// guard runs a write to Pebble: its error, or Pebble's Fatalf (a panic from
// our logger), fails the log for good.
func (l *Log) guard(write func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fp, ok := r.(fatalError)
			if !ok {
				panic(r)
			}
			l.failed.Store(true)
			err = fmt.Errorf("%w: %s", ErrFailed, string(fp))
		}
	}()
	if err := write(); err != nil {
		l.failed.Store(true)
		return fmt.Errorf("%w: %w", ErrFailed, err)
	}
	return nil
}

// Read calls fn for each entry with from <= seq <= to, in order, stopping at
// LastSeq. Data passed to fn is valid only during the call.
func (l *Log) Read(from, to uint64, fn func(Entry) error) error {
	it, err := l.Iter(from, to)
	if err != nil {
		return err
	}
	defer it.Close()
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if err := fn(e); err != nil {
			return err
		}
	}
	return it.Err()
}

// Iterator walks entries in seq order; see Iter.
type Iterator struct {
	log        *Log
	it         *pebble.Iterator // nil when the range is empty
	want       uint64           // the seq the next entry must have
	to         uint64           // the last seq of the range
	positioned bool             // whether First was called
	done       bool
	err        error
}

// Iter returns an iterator over the entries with from <= seq <= to, bounded
// by LastSeq at the time of the call. It holds a Pebble iterator: Close it.
// A non-empty range that starts before FirstSeq is a *TruncatedError.
func (l *Log) Iter(from, to uint64) (*Iterator, error) {
	if last := l.last.Load(); to > last {
		to = last
	}
	if from == 0 {
		from = 1
	}
	if from > to {
		return &Iterator{done: true}, nil
	}
	if first := l.first.Load(); from < first {
		return nil, fmt.Errorf("wal: read: %w", &TruncatedError{From: from, First: first})
	}
	// to <= LastSeq < MaxUint64, so to+1 does not overflow.
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: entryKey(from), UpperBound: entryKey(to + 1)})
	if err != nil {
		return nil, fmt.Errorf("wal: read: %w", err)
	}
	return &Iterator{log: l, it: it, want: from, to: to}, nil
}

// Next returns the next entry, or false at the end or on an error (see Err).
// Entry.Data is valid until the following call to Next or Close.
func (i *Iterator) Next() (Entry, bool) {
	if i.done {
		return Entry{}, false
	}
	var ok bool
	if i.positioned {
		ok = i.it.Next()
	} else {
		ok, i.positioned = i.it.First(), true
	}
	if !ok {
		if err := i.it.Error(); err != nil {
			return i.fail(&UnreadableError{Seq: i.want, Err: err})
		}
		if i.want <= i.to {
			return i.fail(i.missing("the range ends without it"))
		}
		return i.fail(nil)
	}
	seq, err := decodeKey(i.it.Key())
	if err != nil {
		return i.fail(err)
	}
	if seq != i.want {
		return i.fail(i.missing(fmt.Sprintf("the log has a gap (the next entry found is %d)", seq)))
	}
	val, err := i.it.ValueAndErr()
	if err != nil {
		return i.fail(&UnreadableError{Seq: seq, Err: err})
	}
	i.want++
	return Entry{Seq: seq, Data: val}, true
}

// missing is the error for an entry absent from the store: removed by a
// Truncate since Iter was called, or else lost (a gap).
func (i *Iterator) missing(why string) error {
	if first := i.log.first.Load(); i.want < first {
		return &TruncatedError{From: i.want, First: first}
	}
	return &UnreadableError{Seq: i.want, Err: fmt.Errorf("missing: %s", why)}
}

// fail ends the iteration, with err (if not nil) for Err.
func (i *Iterator) fail(err error) (Entry, bool) {
	i.done = true
	if err != nil {
		i.err = fmt.Errorf("wal: read: %w", err)
	}
	return Entry{}, false
}

// Err is the error that ended the iteration, if any.
func (i *Iterator) Err() error { return i.err }

// Close releases the iterator.
func (i *Iterator) Close() error {
	i.done = true
	if i.it == nil {
		return nil
	}
	err := i.it.Close()
	i.it = nil
	return err
}

// Close syncs everything appended (unless the log failed), flushes Pebble's
// memtable and closes the log. The flush means the next Open need not replay
// Pebble's WAL, and a stopped log's entries all live in block-checksummed
// tables, where a damaged block is found and skipped by Check.
func (l *Log) Close() error {
	var syncErr, flushErr, markErr error
	if !l.readOnly {
		syncErr = l.Sync()
		if syncErr == nil {
			flushErr = l.flush()
		}
		close(l.markStop)
		<-l.markDone
		l.advanceMark(l.synced.Load())
		markErr = l.MarkErr()
	}
	l.stopSyncer()
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.db.Close()
	if lerr := l.lock.Close(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("wal: close: %w", err)
	}
	if syncErr != nil && !errors.Is(syncErr, ErrFailed) {
		return syncErr
	}
	if flushErr != nil {
		return flushErr
	}
	return markErr
}

// flush writes the memtable to a table; a failure (Pebble's Fatalf) is
// reported, not raised: every entry is already synced in Pebble's WAL.
func (l *Log) flush() (err error) {
	defer func() {
		if r := recover(); r != nil {
			if fp, ok := r.(fatalError); ok {
				err = fmt.Errorf("wal: flush at close: %s", string(fp))
				return
			}
			panic(r)
		}
	}()
	if err := l.db.Flush(); err != nil {
		return fmt.Errorf("wal: flush at close: %w", err)
	}
	return nil
}

// fatalPanics is Pebble's logger: info and errors are dropped (Pebble is
// chatty and our own log says what matters), fatal errors panic so that the
// log can fail stop instead of exiting the process.
type fatalPanics struct{}

type fatalError string

func (fatalPanics) Infof(string, ...any)  {}
func (fatalPanics) Errorf(string, ...any) {}
func (fatalPanics) Fatalf(format string, args ...any) {
	panic(fatalError(fmt.Sprintf(format, args...)))
}

// memTableSize is Pebble's memtable size for a log (see pebbleOptions).
const memTableSize = 4 << 20
