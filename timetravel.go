package imago

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imagodb/imago/applier"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/gcpolicy"
	"github.com/imagodb/imago/memdb"
)

// Time travel: the image at any durable seq, built on demand.
//
// A past state is built from the nearest usable base at or before its seq
// (a state held in memory: a recently published view of the ladder, or a
// state built before; or a checkpoint file whose fingerprint matches and
// whose last entry is the log's; or the empty image at seq 0), by replaying
// the log after it with applier.Replay into a private image. Built states
// are kept in a cache bounded in bytes (least recently used first out);
// concurrent requests for one seq build it once. A state that shares its
// base with the live image or another state shares its unchanged structure
// with it too, so the cache's bytes (the rows of each state) overstate what
// it holds.

// DefaultAsOfCacheBytes bounds the built past states kept (Options.AsOfCacheBytes).
const DefaultAsOfCacheBytes = 256 << 20

// ladderSize is the number of recently published views kept as cheap bases
// for recent points, spaced more widely the older they are.
const ladderSize = 32

// ladderEvery is how often the ladder samples the published view.
const ladderEvery = 100 * time.Millisecond

// UnreachableError is a point of the past no state can be built for: past
// the durable log, before its start, in the future. Its message names what
// is reachable.
type UnreachableError struct{ msg string }

func (e *UnreachableError) Error() string { return e.msg }

// AsOfStats describe the past states: the cache and the builds.
type AsOfStats struct {
	CacheBytes, CacheLimit int64
	CachedStates           int
	LadderStates           int
	Hits, Builds           uint64 // requests answered from memory; states built
	LastBuild              BuildInfo
}

// BuildInfo describes the build of a past state.
type BuildInfo struct {
	Seq      uint64        // the state built
	Base     string        // what it started from: "ladder", "cache", "checkpoint <path>", "empty"
	BaseSeq  uint64        // the seq of its base
	Replayed uint64        // commands replayed after the base
	Duration time.Duration // time the build took (the base's load included)
}

// pastStates builds and caches a DB's past states.
type pastStates struct {
	db    *DB
	limit int64

	mu      sync.Mutex
	cache   map[uint64]*list.Element // of *pastEntry
	lru     list.List                // front: most recently used
	bytes   int64
	flights map[uint64]*flight
	ladder  []*commands.View // oldest first

	hits, builds atomic.Uint64
	last         atomic.Pointer[BuildInfo]

	// builds in progress read the log: close ends and waits for them
	// before the database closes it.
	life     context.Context
	end      context.CancelFunc
	closed   bool // guarded by mu: no build starts after close
	building sync.WaitGroup
	// gen counts forget calls (guarded by mu): a build begun before one
	// is not cached.
	gen uint64
}

type pastEntry struct {
	view  *commands.View
	bytes int64
}

// flight is a build in progress; waiters share it.
type flight struct {
	done    chan struct{}
	view    *commands.View
	err     error
	waiters int
	cancel  context.CancelFunc
}

func newPastStates(db *DB, limit int64) *pastStates {
	if limit <= 0 {
		limit = DefaultAsOfCacheBytes
	}
	life, end := context.WithCancel(context.Background())
	return &pastStates{db: db, limit: limit, cache: map[uint64]*list.Element{}, flights: map[uint64]*flight{}, life: life, end: end}
}

// close stops the builds in progress and waits for them: after it, no
// build reads the log.
func (p *pastStates) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.end()
	p.building.Wait()
}

// ViewAt is the state after the command at seq (0: the empty image before
// the first command), which must be durable and, on a truncated log,
// reachable from a checkpoint. ctx bounds the wait (and the build when
// no other request waits for it).
func (db *DB) ViewAt(ctx context.Context, seq uint64) (*commands.View, error) {
	return db.past.viewAt(ctx, seq)
}

// AsOfStats reports the past states' cache and builds.
func (db *DB) AsOfStats() AsOfStats { return db.past.stats() }

func (p *pastStates) viewAt(ctx context.Context, seq uint64) (*commands.View, error) {
	if err := p.reachable(seq); err != nil {
		return nil, err
	}
	if v := p.db.View(); v.Seq == seq {
		p.hits.Add(1)
		return v, nil
	}
	p.mu.Lock()
	if v := p.cachedLocked(seq); v != nil {
		p.mu.Unlock()
		p.hits.Add(1)
		return v, nil
	}
	f, ok := p.flights[seq]
	if !ok {
		if p.closed {
			p.mu.Unlock()
			return nil, fmt.Errorf("imago: the state at seq %d: the database is closed", seq)
		}
		bctx, cancel := context.WithCancel(p.life)
		f = &flight{done: make(chan struct{}), cancel: cancel}
		p.flights[seq] = f
		p.building.Add(1)
		go p.run(bctx, seq, f)
	}
	f.waiters++
	p.mu.Unlock()
	select {
	case <-f.done:
		return f.view, f.err
	case <-ctx.Done():
		p.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			f.cancel() // nobody waits: stop building
		}
		p.mu.Unlock()
		return nil, fmt.Errorf("imago: the state at seq %d: %w", seq, context.Cause(ctx))
	}
}

// run builds the state at seq for a flight and caches it.
func (p *pastStates) run(ctx context.Context, seq uint64, f *flight) {
	defer p.building.Done()
	defer f.cancel()
	p.mu.Lock()
	gen := p.gen
	p.mu.Unlock()
	f.view, f.err = p.build(ctx, seq)
	p.mu.Lock()
	if p.flights[seq] == f {
		delete(p.flights, seq)
	}
	if f.err == nil && gen == p.gen {
		p.addLocked(f.view)
	}
	p.mu.Unlock()
	close(f.done)
}

// cachedLocked is the state at seq held in memory (cache or ladder), or nil.
func (p *pastStates) cachedLocked(seq uint64) *commands.View {
	if el, ok := p.cache[seq]; ok {
		p.lru.MoveToFront(el)
		return el.Value.(*pastEntry).view
	}
	for _, v := range p.ladder {
		if v.Seq == seq {
			return v
		}
	}
	return nil
}

// addLocked caches a built state and evicts the least recently used ones
// beyond the limit (never the one just added: a statement needs it).
func (p *pastStates) addLocked(v *commands.View) {
	if _, ok := p.cache[v.Seq]; ok {
		return
	}
	e := &pastEntry{view: v, bytes: stateBytes(v.Snapshot)}
	p.cache[v.Seq] = p.lru.PushFront(e)
	p.bytes += e.bytes
	for p.bytes > p.limit && p.lru.Len() > 1 {
		old := p.lru.Back()
		oe := old.Value.(*pastEntry)
		p.lru.Remove(old)
		delete(p.cache, oe.view.Seq)
		p.bytes -= oe.bytes
	}
}

// keep caches the state at seq built elsewhere (by Changes).
func (p *pastStates) keep(s *memdb.Snapshot, seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addLocked(commands.NewView(s, seq))
}

// stateBytes is the bytes of a state's rows.
func stateBytes(s *memdb.Snapshot) int64 {
	var n int64
	for _, t := range s.Tables() {
		n += s.Bytes(t)
	}
	return n
}

func (p *pastStates) stats() AsOfStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := AsOfStats{CacheBytes: p.bytes, CacheLimit: p.limit, CachedStates: p.lru.Len(), LadderStates: len(p.ladder),
		Hits: p.hits.Load(), Builds: p.builds.Load()}
	if b := p.last.Load(); b != nil {
		st.LastBuild = *b
	}
	return st
}

// reachable refuses a seq no state can be built for, naming what can.
func (p *pastStates) reachable(seq uint64) error {
	durable := p.db.DurableSeq()
	lo, err := p.firstReachable()
	if err != nil {
		return err
	}
	switch {
	case seq > durable:
		return &UnreachableError{fmt.Sprintf("seq %d is beyond the durable log, which ends at seq %d: reachable states are seq %d..%d", seq, durable, lo, durable)}
	case seq < lo:
		return &UnreachableError{fmt.Sprintf("seq %d precedes the start of the truncated log (its first entry is seq %d; the states before it were removed with it): reachable states are seq %d..%d",
			seq, p.db.log.FirstSeq(), lo, durable)}
	}
	return nil
}

// firstReachable is the first seq a state can be built for: 0 on a whole
// log; on a truncated one the oldest checkpoint at or after its start.
func (p *pastStates) firstReachable() (uint64, error) {
	first := p.db.log.FirstSeq()
	if first <= 1 {
		return 0, nil
	}
	files, err := checkpoint.List(CheckpointDir(p.db.dir))
	if err != nil {
		return 0, err
	}
	lo := p.db.View().Seq // the live state is always reachable
	for _, f := range files {
		if f.Seq+1 >= first && f.Seq < lo {
			lo = f.Seq
		}
	}
	return lo, nil
}

// build builds the state at seq from its nearest base.
func (p *pastStates) build(ctx context.Context, seq uint64) (*commands.View, error) {
	start := time.Now()
	db := p.db
	info := BuildInfo{Seq: seq}
	// The nearest state in memory at or before seq that the log can be
	// replayed from (not before a truncated log's start).
	var mem *commands.View
	usable := func(v *commands.View) bool {
		return v.Seq <= seq && v.Seq+1 >= db.log.FirstSeq() && (mem == nil || v.Seq > mem.Seq)
	}
	p.mu.Lock()
	for _, v := range p.ladder {
		if usable(v) {
			mem, info.Base = v, "ladder"
		}
	}
	for el := p.lru.Front(); el != nil; el = el.Next() {
		if v := el.Value.(*pastEntry).view; usable(v) {
			mem, info.Base = v, "cache"
		}
	}
	p.mu.Unlock()
	if mem != nil && mem.Seq == seq {
		return mem, nil
	}
	// As in recovery: loading and replaying allocate much and keep most of
	// it; the collector, paused meanwhile (within gcpolicy's memory limit),
	// would scan the growing heap again and again.
	defer gcpolicy.Pause()()
	image, base, err := p.checkpointBase(seq, mem, &info)
	if err != nil {
		return nil, err
	}
	if image == nil {
		if image, err = db.app.newImage(); err != nil {
			return nil, err
		}
		if mem != nil {
			image.Reset(mem.Snapshot)
			base = mem.Seq
		} else if db.log.FirstSeq() > 1 {
			return nil, &UnreachableError{fmt.Sprintf("no usable checkpoint at or before seq %d holds the state before the truncated log's start (seq %d)", seq, db.log.FirstSeq())}
		} else {
			info.Base = "empty"
		}
	}
	info.BaseSeq = base
	snap, st, err := applier.Replay{Image: image, Registry: db.registry, Log: envelope.NewLog(ctxValues{ctx, db.log}).WithUpcaster(db.upcaster),
		From: base + 1, To: seq, Logger: db.logger}.Run()
	if err != nil {
		return nil, fmt.Errorf("imago: build the state at seq %d from %s at seq %d: %w", seq, info.Base, base, err)
	}
	info.Replayed, info.Duration = st.Commands, time.Since(start)
	p.builds.Add(1)
	p.last.Store(&info)
	db.logger.Debug("past state built", "seq", seq, "base", info.Base, "base_seq", base, "replayed", st.Commands, "ms", info.Duration.Milliseconds())
	return commands.NewView(snap, seq), nil
}

// checkpointBase loads the newest usable checkpoint at or before seq when
// it is a cheaper start than mem (loading costs about a replayed command
// per row); image nil: none is.
func (p *pastStates) checkpointBase(seq uint64, mem *commands.View, info *BuildInfo) (*memdb.Image, uint64, error) {
	db := p.db
	files, err := checkpoint.List(CheckpointDir(db.dir))
	if err != nil {
		return nil, 0, err
	}
	live := db.View().Snapshot
	var rows int64
	for _, t := range live.Tables() {
		rows += live.Count(t)
	}
	for _, f := range files { // newest first
		if f.Seq > seq || f.Seq+1 < db.log.FirstSeq() {
			continue
		}
		if mem != nil && int64(seq-mem.Seq) <= rows+int64(seq-f.Seq) {
			return nil, 0, nil // replaying from memory is cheaper
		}
		if reason := diverged(f, db.log); reason != "" {
			continue
		}
		image, err := db.app.newImage()
		if err != nil {
			return nil, 0, err
		}
		h, _, err := checkpoint.Load(f.Path, image, db.fingerprint, nil)
		if err != nil {
			db.logger.Debug("checkpoint not usable for a past state", "file", f.Path, "err", err)
			continue
		}
		info.Base = "checkpoint " + f.Path
		return image, h.Seq, nil
	}
	return nil, 0, nil
}

// ctxValues reads a log and stops when ctx ends.
type ctxValues struct {
	ctx context.Context
	log envelope.Values
}

func (c ctxValues) FirstSeq() uint64 { return c.log.FirstSeq() }

func (c ctxValues) ReadValues(from, to uint64, fn func(seq uint64, value []byte) error) error {
	n := 0
	return c.log.ReadValues(from, to, func(seq uint64, value []byte) error {
		if n++; n%1024 == 0 {
			if err := c.ctx.Err(); err != nil {
				return fmt.Errorf("stopped at seq %d: %w", seq, err)
			}
		}
		return fn(seq, value)
	})
}

// ladderLoop samples the published view into the ladder until the DB stops.
func (p *pastStates) ladderLoop() {
	defer p.db.bg.Done()
	tick := time.NewTicker(ladderEvery)
	defer tick.Stop()
	for {
		select {
		case <-p.db.stop:
			return
		case <-tick.C:
		}
		p.sample(p.db.View())
	}
}

// sample adds v to the ladder and thins it: of those between the oldest
// and the newest, the view whose removal leaves the smallest gap relative
// to its age goes, so that the rungs are spaced about geometrically.
func (p *pastStates) sample(v *commands.View) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.ladder); n > 0 && p.ladder[n-1].Seq >= v.Seq {
		return
	}
	p.ladder = append(p.ladder, v)
	for len(p.ladder) > ladderSize {
		best, score := 1, 2.0
		for i := 1; i < len(p.ladder)-1; i++ {
			gap := float64(p.ladder[i+1].Seq - p.ladder[i-1].Seq)
			age := float64(v.Seq - p.ladder[i-1].Seq + 1)
			if s := gap / age; s < score {
				best, score = i, s
			}
		}
		p.ladder = slices.Delete(p.ladder, best, best+1)
	}
}

// SeqAt is the seq of the last command accepted at or before t: the state
// of the image at that time. Envelope times grow with seq (a command's
// time is taken when it is accepted and the writer raises it to its
// predecessor's where concurrent submitters interleave), so a binary
// search over the log finds it in about log2(entries) reads. A time before the first
// command, or in the future, is refused naming the times reachable.
func (db *DB) SeqAt(t time.Time) (uint64, error) {
	durable := db.DurableSeq()
	first := max(db.log.FirstSeq(), 1)
	if durable < first {
		if db.log.FirstSeq() <= 1 {
			return 0, &UnreachableError{fmt.Sprintf("time %s: the log holds no command yet: the only state is seq 0", fmtTime(t))}
		}
		return durable, nil
	}
	log := envelope.NewLog(db.log)
	t0, err := log.TimeOf(first)
	if err != nil {
		return 0, err
	}
	tn, err := log.TimeOf(durable)
	if err != nil {
		return 0, err
	}
	reach := fmt.Sprintf("reachable times are %s (seq %d) to now (the last durable command, seq %d, was accepted at %s)", fmtTime(t0), first, durable, fmtTime(tn))
	switch {
	case t.After(time.Now()) && t.After(tn):
		return 0, &UnreachableError{fmt.Sprintf("time %s is in the future: %s", fmtTime(t), reach)}
	case !t.Before(tn):
		return durable, nil
	case t.Before(t0) && first == 1:
		return 0, &UnreachableError{fmt.Sprintf("time %s is before the first command (seq 1, accepted at %s): %s; the empty image before it is seq 0", fmtTime(t), fmtTime(t0), reach)}
	case t.Before(t0):
		return 0, &UnreachableError{fmt.Sprintf("time %s precedes the start of the truncated log (seq %d, accepted at %s): %s", fmtTime(t), first, fmtTime(t0), reach)}
	}
	return log.LastAt(t, durable)
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999Z") }
