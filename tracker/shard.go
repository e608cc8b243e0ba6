package tracker

import (
	"cmp"
	"slices"
	"time"

	"github.com/tcplens/tcplens/capture"
)

// Sharded tracks connections on several goroutines: each segment goes to
// the worker that owns its 4-tuple (by a hash of the canonical key), so
// every packet of a connection is tracked by one worker in capture order.
// The caller's goroutine runs the timers' clock for all workers and merges
// what they hand on, so that emit sees exactly what one Tracker would
// hand it, in the same order and with the same ids, whatever the number of
// workers. Only Config.MaxConns is per worker (each holds MaxConns/n).
//
// Track, Advance and Flush must be called from one goroutine; emit is
// called from that goroutine too.
type Sharded struct {
	n         int
	emit      func(*Conn)
	in        []chan *shardBatch
	out       []chan *shardBatch
	free      chan *shardBatch // spare batches
	cur       []*shardBatch    // the batches being filled, one per worker
	pending   [][]*shardBatch  // batches sent, per global batch, awaiting merge
	now       time.Time
	next      time.Time // when the timers next run
	nextID    uint64
	ids       idMap               // provisional id (first frame) → id
	late      []int64             // per worker
	open      []int               // per worker
	merged    []shardEvent        // reused by merge
	heads     []int               // reused by mergeEvents
	chunkPool []chan []byte       // each worker's Config.Prepare chunks, back from merge
	segs      []capture.Segment   // the current global batch's segments
	segsSent  [][]capture.Segment // those of the batches sent, awaiting merge
	segPool   chan []capture.Segment
	closed    bool
}

// batchSize is how many segments go to the workers at a time.
const batchSize = 4096

// inFlight is how many global batches may be sent and not yet merged.
const inFlight = 4

// shardOp is one step of a worker's batch: a segment to track, or the
// timers to run, at capture time now (the dispatcher's clock).
type shardOp struct {
	seg   int32 // index in segs; -1: run the timers
	now   time.Time
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

type shardBatch struct {
	release []*Conn           // handed on and released: the worker may reuse them
	chunks  [][]byte          // what Config.Prepare made of the connections handed on
	segs    []capture.Segment // the global batch's, shared by all workers
	ops     []shardOp
	flush   bool
	now     time.Time // the clock at the end of the batch
	events  []shardEvent
	late    int64
	open    int
}

// NewSharded returns a Sharded with n workers (at least 1) that hands
// finished connections to emit.
func NewSharded(cfg Config, n int, emit func(*Conn)) *Sharded {
	n = max(n, 1)
	if cfg.MaxConns > 0 {
		cfg.MaxConns = max(cfg.MaxConns/n, 1)
	}
	s := &Sharded{n: n, emit: emit, open: make([]int, n), late: make([]int64, n), heads: make([]int, n),
		free:    make(chan *shardBatch, n*(inFlight+2)),
		segPool: make(chan []capture.Segment, inFlight+2), segs: make([]capture.Segment, 0, batchSize)}
	for range n {
		in, out := make(chan *shardBatch, inFlight+1), make(chan *shardBatch, inFlight+1)
		s.in, s.out = append(s.in, in), append(s.out, out)
		// A worker writes its chunks again once merge has read them: its
		// own, as the memory it wrote last is likelier in its core's cache.
		s.chunkPool = append(s.chunkPool, make(chan []byte, 256/n+1))
		go worker(cfg, n, in, out, s.chunkPool[len(s.chunkPool)-1])
	}
	s.cur = make([]*shardBatch, n)
	for w := range s.cur {
		s.cur[w] = s.batch()
	}
	return s
}

func (s *Sharded) batch() *shardBatch {
	select {
	case b := <-s.free:
		clear(b.release)
		b.segs, b.ops, b.events, b.flush, b.late, b.release = nil, b.ops[:0], b.events[:0], false, 0, b.release[:0]
		return b
	default:
		return &shardBatch{}
	}
}

// worker runs one Tracker in shard mode over the batches it is sent.
func worker(cfg Config, workers int, in <-chan *shardBatch, out chan<- *shardBatch, chunkPool chan []byte) {
	var cur *shardBatch
	var frame int64
	var timers bool
	seq := 0
	t := New(cfg, func(c *Conn) {
		cur.events = append(cur.events, shardEvent{frame: frame, timers: timers, seq: seq, c: c, id: c.ID})
		seq++
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
			if op.now.After(t.now) {
				t.now = op.now
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
// order.
func (s *Sharded) Track(seg *capture.Segment) {
	s.advance(seg.Time, seg.Frame)
	h := segmentHash(seg)
	b := s.cur[h%uint64(s.n)]
	if n := len(s.segs); n < cap(s.segs) && seg == &s.segs[:n+1][n] {
		s.segs = s.segs[:n+1] // decoded in place (Slot): no copy
	} else {
		s.segs = append(s.segs, *seg)
	}
	b.segs = s.segs
	b.ops = append(b.ops, shardOp{seg: int32(len(s.segs) - 1), now: s.now, frame: seg.Frame, hash: h})
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
		b.ops = append(b.ops, shardOp{seg: -1, now: s.now, frame: frame})
	}
}

// Flush ends the capture: every connection still held is handed on, and
// the workers stop.
func (s *Sharded) Flush() {
	if s.closed {
		return
	}
	s.send(true)
	s.closed = true
	for w := range s.in {
		close(s.in[w])
		for range s.out[w] {
		}
	}
}

// Release gives a connection that was handed on back to its worker for
// reuse (see Tracker.Release).
func (s *Sharded) Release(c *Conn) {
	if s.closed {
		return
	}
	b := s.cur[c.hash%uint64(s.n)] // its worker, as Track chose it
	b.release = append(b.release, c)
}

// Late returns the late segments of all workers (see Tracker.Late).
func (s *Sharded) Late() int64 {
	var n int64
	for _, l := range s.late {
		n += l
	}
	return n
}

// Open returns the connections held by the workers as of the last merge.
func (s *Sharded) Open() int {
	n := 0
	for _, o := range s.open {
		n += o
	}
	return n
}

// send hands the current batches to the workers and merges the oldest
// ones sent if too many are in flight.
func (s *Sharded) send(flush bool) {
	for w, b := range s.cur {
		b.flush, b.now = flush, s.now
		s.in[w] <- b
	}
	s.pending = append(s.pending, s.cur)
	s.segsSent = append(s.segsSent, s.segs)
	select {
	case s.segs = <-s.segPool:
	default:
		s.segs = make([]capture.Segment, 0, batchSize)
	}
	s.cur = make([]*shardBatch, s.n)
	for w := range s.cur {
		s.cur[w] = s.batch()
	}
	for len(s.pending) >= inFlight || flush && len(s.pending) > 0 {
		s.merge()
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

// mergeEvents appends to ev the events of batches, each already in order,
// merged in order: what a stable sort of them all gives (an event of an
// earlier batch first among equals), in linear time.
func mergeEvents(ev []shardEvent, batches []*shardBatch, next []int) []shardEvent {
	clear(next)
	for {
		best := -1
		for w, b := range batches {
			if next[w] < len(b.events) && (best < 0 || compareEvents(b.events[next[w]], batches[best].events[next[best]]) < 0) {
				best = w
			}
		}
		if best < 0 {
			return ev
		}
		ev = append(ev, batches[best].events[next[best]])
		next[best]++
	}
}

// merge waits for the oldest batches sent and hands on what they emitted,
// in the order a single Tracker would have.
func (s *Sharded) merge() {
	batches := s.pending[0]
	s.pending = s.pending[1:]
	segs := s.segsSent[0]
	s.segsSent = s.segsSent[1:]
	sorted := true
	for w, b := range batches {
		got := <-s.out[w]
		if got != b {
			panic("tracker: shard batches out of order")
		}
		sorted = sorted && slices.IsSortedFunc(b.events, compareEvents)
		s.late[w], s.open[w] = b.late, b.open
	}
	ev := s.merged[:0]
	if sorted {
		ev = mergeEvents(ev, batches, s.heads)
	} else {
		for _, b := range batches {
			ev = append(ev, b.events...)
		}
		slices.SortStableFunc(ev, compareEvents)
	}
	for _, e := range ev {
		if e.created {
			s.nextID++
			s.ids.set(e.id, s.nextID)
			continue
		}
		id := s.ids.take(e.id)
		e.c.ID = id
		s.emit(e.c)
	}
	clear(ev)
	s.merged = ev[:0]
	select {
	case s.segPool <- segs[:0]:
	default:
	}
	for w, b := range batches {
		b.segs = nil
		for _, c := range b.chunks {
			select {
			case s.chunkPool[w] <- c[:0]:
			default:
			}
		}
		clear(b.chunks)
		b.chunks = b.chunks[:0]
		clear(b.events)
		select {
		case s.free <- b:
		default:
		}
	}
}
