package tracker

import (
	"cmp"
	"sync/atomic"
	"time"

	"github.com/tcplens/tcplens/capture"
)

// Sharded tracks connections on several goroutines: each segment goes to
// the worker that owns its 4-tuple (by a hash of the canonical key), so
// every packet of a connection is tracked by one worker in capture order.
// The caller's goroutine runs the timers' clock for all workers; a merging
// goroutine puts what they hand on back in order, so that emit sees
// exactly what one Tracker would hand it, in the same order and with the
// same ids, whatever the number of workers. Only Config.MaxConns is per
// worker (each holds MaxConns/n).
//
// Track and Flush must be called from one goroutine, and Flush at the end:
// until then the goroutines are running. emit is called from the merging
// goroutine, concurrently with Track, one connection at a time, and every
// call has returned when Flush returns: what emit shares with the caller
// of Track needs synchronising until then. Release may be called only
// from emit.
type Sharded struct {
	n       int
	emit    func(*Conn)
	in      []chan *shardBatch
	out     []chan *shardBatch
	free    []chan *shardBatch // each worker's spare batches, with what emit released
	parts   []chan *shardBatch // each worker's spare parts
	cur     []*shardBatch      // the batches being filled, one per worker
	groups  chan shardGroup    // batches sent, for the merging goroutine
	merged  chan struct{}      // closed when the merging goroutine is done
	now     time.Time
	next    time.Time // when the timers next run
	segs    []capture.Segment
	segPool chan []capture.Segment
	closed  bool
	open    atomic.Int64 // held by the workers as of the last merge
	late    atomic.Int64 // late segments of all workers, as of the last merge

	// The merging goroutine's.
	nextID      uint64
	ids         idMap         // provisional id (first frame) → id
	lates       []int64       // per worker
	release     [][]*Conn     // per worker: released since its batches were last recycled
	msgs        []*shardBatch // each worker's message being merged
	heads       []int         // the next event of each
	chunkPool   []chan []byte // each worker's Config.Prepare chunks, back from merge
	partsMerged int           // for the tests
}

// shardGroup is a global batch: the batches of all workers, and the
// segments they share.
type shardGroup struct {
	batches []*shardBatch
	segs    []capture.Segment
}

// batchSize is how many segments go to the workers at a time: the
// segments of some inFlight+2 batches are in memory at once, 0.4 MB a
// batch (4,096 made no difference in speed and cost some 5 MB more on
// synth-10m and synth-20m with two workers).
const batchSize = 2048

// inFlight is how many global batches may be sent and not yet merged.
const inFlight = 4

// partChunks is how many full chunks of formatted records a worker holds
// before it sends what it has handed on ahead of its batch: once a second
// the timers hand on thousands of connections at once (some 7 MB of
// records per worker on the benchmark corpus), which would otherwise wait
// in memory until the whole batch was merged. A variable for the tests.
var partChunks = 4

// shardOp is one step of a worker's batch: a segment to track, or the
// timers to run, at capture time now (the dispatcher's clock). The clock
// is the segment's own time unless the capture's times went backwards, so
// it is kept apart, only where it is not: an op is 24 bytes without
// pointers, half what the workers read from the dispatcher's core with
// the clock in each.
type shardOp struct {
	seg   int32  // index in segs; -1: run the timers
	now   int32  // index in the batch's nows of the clock; -1: the segment's time
	frame int64  // the frame being processed (for ordering what is emitted)
	hash  uint64 // the segment's key's hashKey, which chose the worker
}

// shardEvent is what a worker reports: a connection created or handed on,
// with the place in the single-tracker order it belongs to.
type shardEvent struct {
	frame   int64  // the frame during whose processing it happened; MaxInt64 at Flush
	timers  bool   // during the timers that ran before that frame
	created bool   // created (else handed on)
	seq     int    // the order within the worker
	id      uint64 // the connection's provisional id (its first frame)
	c       *Conn  // handed on (nil for a creation: the Conn may be reused,
	// parked, before the creation is merged)
}

// shardBatch is a worker's part of a global batch: what it is to do, and
// what it did. A worker may send what it handed on ahead in parts (see
// partChunks), shardBatches with part set that hold only events and
// chunks, before the batch itself.
type shardBatch struct {
	part    bool
	release []*Conn           // handed on and released: the worker may reuse them
	chunks  [][]byte          // what Config.Prepare made of the connections handed on
	segs    []capture.Segment // the global batch's, shared by all workers
	ops     []shardOp
	nows    []time.Time // the clock of the ops whose clock is not their segment's time
	flush   bool
	now     time.Time // the clock at the end of the batch
	events  []shardEvent
	late    int64
	open    int
}

// clock keeps now for an op of b and returns its index in b.nows.
func (b *shardBatch) clock(now time.Time) int32 {
	b.nows = append(b.nows, now)
	return int32(len(b.nows) - 1)
}

// NewSharded returns a Sharded with n workers (at least 1) that hands
// finished connections to emit.
func NewSharded(cfg Config, n int, emit func(*Conn)) *Sharded {
	n = max(n, 1)
	if cfg.MaxConns > 0 {
		cfg.MaxConns = max(cfg.MaxConns/n, 1)
	}
	s := &Sharded{n: n, emit: emit, lates: make([]int64, n), heads: make([]int, n), msgs: make([]*shardBatch, n),
		release: make([][]*Conn, n), groups: make(chan shardGroup, inFlight), merged: make(chan struct{}),
		segPool: make(chan []capture.Segment, inFlight+2), segs: make([]capture.Segment, 0, batchSize)}
	for range n {
		in, out := make(chan *shardBatch, inFlight+1), make(chan *shardBatch, inFlight+1)
		s.in, s.out = append(s.in, in), append(s.out, out)
		s.free = append(s.free, make(chan *shardBatch, inFlight+2))
		s.parts = append(s.parts, make(chan *shardBatch, inFlight+2))
		// A worker writes its chunks again once merge has read them: its
		// own, as the memory it wrote last is likelier in its core's cache.
		s.chunkPool = append(s.chunkPool, make(chan []byte, 256/n+1))
		go worker(cfg, n, in, out, s.chunkPool[len(s.chunkPool)-1], s.parts[len(s.parts)-1])
	}
	s.cur = make([]*shardBatch, n)
	for w := range s.cur {
		s.cur[w] = s.batch(w)
	}
	go func() {
		for g := range s.groups {
			s.merge(g)
		}
		close(s.merged)
	}()
	return s
}

// batch returns a batch for worker w to fill: a spare one, with the
// connections released since it was merged, or a new one.
func (s *Sharded) batch(w int) *shardBatch {
	select {
	case b := <-s.free[w]:
		return b
	default:
		return &shardBatch{}
	}
}

// worker runs one Tracker in shard mode over the batches it is sent.
func worker(cfg Config, workers int, in <-chan *shardBatch, out chan<- *shardBatch, chunkPool chan []byte, parts chan *shardBatch) {
	var cur *shardBatch
	var frame int64
	var timers bool
	seq := 0
	var t *Tracker
	t = New(cfg, func(c *Conn) {
		cur.events = append(cur.events, shardEvent{frame: frame, timers: timers, seq: seq, c: c, id: c.ID})
		seq++
		if len(t.chunks) < partChunks {
			return
		}
		// The records in the chunks are of connections whose events are
		// sent now or were sent before; c's may be in t.prepared, which
		// goes with a later message and is only appended to until then.
		var p *shardBatch
		select {
		case p = <-parts:
		default:
			p = &shardBatch{part: true}
		}
		p.events, cur.events = cur.events, p.events[:0]
		p.chunks, t.chunks = t.chunks, p.chunks[:0]
		out <- p
	})
	t.newChunk = func() []byte {
		select {
		case c := <-chunkPool:
			return c
		default:
			return make([]byte, 0, chunkSize)
		}
	}
	t.shard = true
	t.maxFree = maxFree / workers
	t.onCreate = func(c *Conn) {
		cur.events = append(cur.events, shardEvent{frame: frame, created: true, seq: seq, id: c.ID})
		seq++
	}
	for b := range in {
		cur = b
		for _, c := range b.release {
			t.Release(c)
		}
		for _, op := range b.ops {
			frame = op.frame
			var now time.Time
			if op.now >= 0 {
				now = b.nows[op.now]
			} else {
				now = b.segs[op.seg].Time
			}
			if now.After(t.now) {
				t.now = now
			}
			if op.seg < 0 {
				timers = true
				t.sweep()
				timers = false
				continue
			}
			s := &b.segs[op.seg]
			key, _ := capture.KeyOf(s)
			t.track(s, &key, op.hash)
		}
		if b.now.After(t.now) {
			t.now = b.now
		}
		if b.flush {
			frame = 1<<63 - 1
			t.Flush()
		}
		b.late, b.open = t.late, t.Open()
		if len(t.prepared) > 0 {
			t.chunks = append(t.chunks, t.prepared)
			t.prepared = nil
		}
		b.chunks, t.chunks = t.chunks, b.chunks[:0]
		out <- b
	}
	close(out)
}

// Track hands segment seg to its worker. Segments must come in capture
// order, with frame numbers that increase (as capture.Reader numbers
// them): the merge orders what the workers hand on by frame.
func (s *Sharded) Track(seg *capture.Segment) {
	s.advance(seg.Time, seg.Frame)
	h := segmentHash(seg)
	b := s.cur[h%uint64(s.n)]
	if n := len(s.segs); n < cap(s.segs) && seg == &s.segs[:n+1][n] {
		s.segs = s.segs[:n+1] // decoded in place (Slot): no copy
	} else {
		s.segs = append(s.segs, *seg)
	}
	now := int32(-1)
	if s.now != seg.Time {
		now = b.clock(s.now)
	}
	b.ops = append(b.ops, shardOp{seg: int32(len(s.segs) - 1), now: now, frame: seg.Frame, hash: h})
	if len(s.segs) == batchSize { // segs is batchSize long: never appended past
		s.send(false)
	}
}

// Slot returns where the caller may decode the next segment before
// handing it to Track, which then does not copy it. Segments of a batch
// are shared by all workers, each tracking its own.
func (s *Sharded) Slot() *capture.Segment {
	n := len(s.segs)
	return &s.segs[:n+1][n]
}

// advance runs the timers, if due, before frame.
func (s *Sharded) advance(now time.Time, frame int64) {
	if now.After(s.now) {
		s.now = now
	}
	if s.now.Before(s.next) {
		return
	}
	s.next = s.now.Add(sweepEvery)
	for _, b := range s.cur {
		b.ops = append(b.ops, shardOp{seg: -1, now: b.clock(s.now), frame: frame})
	}
}

// Flush ends the capture: every connection still held is handed on, and
// the workers and the merging goroutine stop.
func (s *Sharded) Flush() {
	if s.closed {
		return
	}
	s.send(true)
	close(s.groups)
	<-s.merged
	s.closed = true
	for w := range s.in {
		close(s.in[w])
		for range s.out[w] {
		}
	}
}

// Release gives a connection that was handed on back to its worker for
// reuse (see Tracker.Release). It may be called only from emit, so only
// before Flush has returned.
func (s *Sharded) Release(c *Conn) {
	w := c.hash % uint64(s.n) // its worker, as Track chose it
	s.release[w] = append(s.release[w], c)
}

// Late returns the late segments of all workers (see Tracker.Late) as of
// the last merge: all of them once Flush has returned.
func (s *Sharded) Late() int64 { return s.late.Load() }

// Open returns the connections held by the workers as of the last merge.
func (s *Sharded) Open() int { return int(s.open.Load()) }

// send hands the current batches to the workers, and to the merging
// goroutine, which may be at most inFlight global batches behind.
func (s *Sharded) send(flush bool) {
	for w, b := range s.cur {
		b.segs, b.flush, b.now = s.segs, flush, s.now
		s.in[w] <- b
	}
	s.groups <- shardGroup{s.cur, s.segs}
	select {
	case s.segs = <-s.segPool:
	default:
		s.segs = make([]capture.Segment, 0, batchSize)
	}
	s.cur = make([]*shardBatch, s.n)
	for w := range s.cur {
		s.cur[w] = s.batch(w)
	}
}

// compareEvents orders what workers report as one Tracker would have done
// it: timers run before their frame's segment; within them connections
// are handed on by id (first frame), as one Tracker sorts them; otherwise
// only one worker acts at a frame, in its own order.
func compareEvents(a, b shardEvent) int {
	if c := cmp.Compare(a.frame, b.frame); c != 0 {
		return c
	}
	if a.timers != b.timers {
		if a.timers {
			return -1
		}
		return 1
	}
	if a.timers || a.frame == 1<<63-1 {
		return cmp.Compare(a.id, b.id)
	}
	return cmp.Compare(a.seq, b.seq)
}

// mergeStreams hands fn the events of all workers in order: what a
// stable sort of them all gives (an event of a lower worker first among
// equals), in linear time. Each worker's events come in order, in
// messages: msgs[w] is its first, next(w) returns the one after a part,
// and done(w, m) is called for each part m once all its events have been
// handed on. Where the last message, a worker's batch, has been used up,
// msgs[w] holds it.
func mergeStreams(msgs []*shardBatch, heads []int, next func(int) *shardBatch, done func(int, *shardBatch), fn func(*shardEvent)) {
	clear(heads)
	for {
		best := -1
		for w, m := range msgs {
			for heads[w] == len(m.events) && m.part {
				done(w, m)
				m = next(w)
				msgs[w], heads[w] = m, 0
			}
			if heads[w] < len(m.events) && (best < 0 || compareEvents(m.events[heads[w]], msgs[best].events[heads[best]]) < 0) {
				best = w
			}
		}
		if best < 0 {
			return
		}
		heads[best]++
		fn(&msgs[best].events[heads[best]-1])
	}
}

// merge hands on what the workers emitted for global batch g, as its
// messages come, in the order a single Tracker would have.
func (s *Sharded) merge(g shardGroup) {
	for w := range s.msgs {
		s.msgs[w] = <-s.out[w]
	}
	mergeStreams(s.msgs, s.heads, s.nextMsg, s.partDone, s.hand)
	open, late := 0, int64(0)
	for w, b := range g.batches {
		if s.msgs[w] != b {
			panic("tracker: shard batches out of order")
		}
		s.lates[w] = b.late
		open += b.open
	}
	for _, l := range s.lates {
		late += l
	}
	s.open.Store(int64(open))
	s.late.Store(late)
	select {
	case s.segPool <- g.segs[:0]:
	default:
	}
	for w, b := range g.batches {
		b.segs = nil
		s.recycleChunks(w, b)
		clear(b.events)
		clear(b.release)
		b.ops, b.nows, b.events, b.flush, b.late = b.ops[:0], b.nows[:0], b.events[:0], false, 0
		// What emit released goes back to the worker with the batch, when
		// it is sent again; if it is not kept, with a later one.
		rel := b.release[:0]
		b.release = s.release[w]
		select {
		case s.free[w] <- b:
			s.release[w] = rel
		default:
			b.release = rel
		}
	}
}

// nextMsg returns worker w's next message.
func (s *Sharded) nextMsg(w int) *shardBatch { return <-s.out[w] }

// hand hands on what event e says: it numbers a new connection, or gives a
// finished one its number and hands it to emit.
func (s *Sharded) hand(e *shardEvent) {
	if e.created {
		s.nextID++
		s.ids.set(e.id, s.nextID)
		return
	}
	e.c.ID = s.ids.take(e.id)
	s.emit(e.c)
}

// partDone gives part p, merged, back to worker w with its chunks.
func (s *Sharded) partDone(w int, p *shardBatch) {
	s.partsMerged++
	s.recycleChunks(w, p)
	clear(p.events)
	p.events = p.events[:0]
	select {
	case s.parts[w] <- p:
	default:
	}
}

// recycleChunks gives the chunks of worker w's message m back to it.
func (s *Sharded) recycleChunks(w int, m *shardBatch) {
	for _, c := range m.chunks {
		select {
		case s.chunkPool[w] <- c[:0]:
		default:
		}
	}
	clear(m.chunks)
	m.chunks = m.chunks[:0]
}
