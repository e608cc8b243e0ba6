package tracker

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
)

// lruGranularity is how much capture time may pass before a connection's
// packet moves it to the back of the activity list again: moving it on
// every packet touched two other connections' memory per packet, a tenth
// of a run. Idle expiry does not depend on it; which connection a full
// table evicts is the least recently active to within this much.
const lruGranularity = int64(50 * time.Millisecond)

// sweepEvery is how often, in capture time, timers are checked.
const sweepEvery = time.Second

// Event is one thing the tracker has just inferred: a state transition or
// the first sighting of an anomaly (an anomaly judged only when the
// connection ends comes with its end). Exactly one of Transition and
// Anomaly is set; both point into Conn and are valid only during the call.
type Event struct {
	Conn       *Conn
	Transition *Transition
	Anomaly    *Anomaly
}

// Step is one segment as a connection took it: which side sent it, what
// the data-path analysis found in it, and (in Conn.State) both sides'
// states after it. Conn and Segment are valid only during the call.
type Step struct {
	Conn     *Conn
	Segment  *capture.Segment
	From     Side
	Findings reassembly.Flags
}

// Tracker groups segments into connections and infers their states.
type Tracker struct {
	cfg       Config
	emit      func(*Conn)
	onEvent   func(Event)
	onStep    func(Step)
	stepWant  func(id uint64) bool // OnStepOf; nil: every connection's steps
	conns     connTable
	nextID    uint64
	now       time.Time
	nextSweep time.Time
	evicted   int64

	// lru lists the connections in memory from the least to the most
	// recently active: idle expiry and eviction take from its front.
	lru list
	// timers holds the deadlines of each kind in the order they were set,
	// which is (nearly) their order as every kind has a fixed length.
	timers  [numTimerKinds]timerQueue
	expired []*Conn // reused by sweep
	free    []*Conn // released connections, for newConn to reuse
	maxFree int

	// Parked connections (Config.Park): by key, and by deadline; parkQ
	// holds the timers that park them.
	parked    parkTable
	parkQueue parkHeap
	parkQ     timerQueue
	// prepared is the chunk Config.Prepare appends to: reused after each
	// connection by a Tracker, handed on with its batch by a Sharded's
	// workers (full ones in chunks), which get fresh ones from newChunk.
	prepared []byte
	chunks   [][]byte
	newChunk func() []byte

	// tombs remembers, for each 4-tuple whose connection was handed on
	// with a side still in TIME_WAIT, what a reusing SYN is judged
	// against.
	tombs tombstones
	late  int64

	// shard mode (Sharded): timers run only when told, the clock is the
	// dispatcher's, ids are first frame numbers, and creations are told.
	shard    bool
	onCreate func(*Conn)
}

// The kinds of timer.
const (
	timeWaitTimer = iota
	closeWaitTimer
	lingerTimer
	numTimerKinds
)

// timerQueue is a FIFO of timers of one kind.
type timerQueue struct {
	q    []timer
	head int // q[:head] have fired
}

func (tq *timerQueue) push(tm timer) {
	if tq.head > 0 && tq.head >= len(tq.q)/2 {
		n := copy(tq.q, tq.q[tq.head:])
		tq.q, tq.head = tq.q[:n], 0
	}
	tq.q = append(tq.q, tm)
}

// pop returns the first timer due at now (Unix ns), if any.
func (tq *timerQueue) pop(now int64) (timer, bool) {
	if tq.head < len(tq.q) && tq.q[tq.head].at <= now {
		tm := tq.q[tq.head]
		tq.q[tq.head] = timer{} // keep no finished connection alive
		tq.head++
		return tm, true
	}
	return timer{}, false
}

// timer asks for connection c to be looked at again at capture time at
// (Unix ns). A finished connection is kept in memory by its timers until
// they fire, at most the longest of the linger and the CLOSE_WAIT threshold
// (TIME_WAIT timers are set only where they are shorter).
type timer struct {
	c   *Conn
	at  int64
	gen uint32 // c.gen when set: a timer of a released Conn is stale
}

// New returns a Tracker that hands finished connections to emit.
func New(cfg Config, emit func(*Conn)) *Tracker {
	return &Tracker{cfg: cfg, emit: emit, maxFree: maxFree}
}

// OnEvent asks for every transition and every new anomaly to be handed to
// fn the moment it is inferred, before the connection is finished.
func (t *Tracker) OnEvent(fn func(Event)) { t.onEvent = fn }

// OnStep asks for every segment that a connection takes to be handed to
// fn, after the connection's states were updated: a ladder of each packet
// with both sides' states. Segments of connections already handed on
// (Late) are not.
func (t *Tracker) OnStep(fn func(Step)) { t.OnStepOf(fn, nil) }

// OnStepOf is OnStep for the connections whose ID want accepts (every
// connection if want is nil), asked once for each as it is made: the
// others may be parked (Config.Park), as without OnStep, and fn is not
// told their segments. Call it before the first segment.
func (t *Tracker) OnStepOf(fn func(Step), want func(id uint64) bool) {
	t.onStep, t.stepWant = fn, want
}

// Open returns the number of connections in memory.
func (t *Tracker) Open() int { return t.conns.len() + t.parked.len() }

// Evicted returns how many connections were evicted because the table held
// Config.MaxConns connections.
func (t *Tracker) Evicted() int64 { return t.evicted }

// Conns calls fn for every connection in memory, least recently active
// first. fn must not keep c. The texts of their data-path anomalies are
// empty until the connection finishes (or OnEvent is set): they are
// written once, with the final counts.
func (t *Tracker) Conns(fn func(c *Conn)) {
	for c := t.lru.head; c != nil; c = c.next {
		fn(c)
	}
}

// NoteCaptureLoss records that the capture dropped n packets (a live
// capture's kernel drops): every open connection may have lost some, so
// each is marked as having incomplete states.
func (t *Tracker) NoteCaptureLoss(n uint64) {
	if n == 0 {
		return
	}
	t.conns.each(func(c *Conn) { c.CaptureLoss = true })
	t.parked.each(func(p *parked) { p.bits |= parkedCaptureLoss })
}

// Advance moves capture time to now, if that is later, and runs the timers
// that are due: a live capture calls it when no packet has come for a
// while. Track calls it for every segment.
func (t *Tracker) Advance(now time.Time) {
	if now.After(t.now) {
		t.now = now
	}
	if !t.now.Before(t.nextSweep) {
		t.sweep()
	}
}

// Track applies one segment. Segments must come in capture order.
func (t *Tracker) Track(s *capture.Segment) {
	if !t.shard {
		t.Advance(s.Time)
	}
	key, _ := capture.KeyOf(s)
	t.track(s, &key, hashKey(&key))
}

// track applies segment s, whose key is key and hashes to h.
func (t *Tracker) track(s *capture.Segment, key *capture.Key, h uint64) {
	ns := s.Time.UnixNano()
	c := t.conns.get(h, key)
	if c == nil && t.parked.len() > 0 {
		if p := t.parked.get(h, key); p != nil {
			c = t.unpark(p)
		}
	}
	syn := s.Flags&(capture.SYN|capture.ACK|capture.RST) == capture.SYN
	var prev past
	hasPrev := false
	if c != nil && syn && startsIncarnation(c, s) {
		prev, hasPrev = pastOf(c, 2*t.cfg.MSL), true
		c.End = EndClosed
		if prev.bits&pastOpen != 0 {
			c.End = EndSuperseded
		}
		t.finish(c)
		c = nil
	}
	if c == nil {
		if !hasPrev && t.tombs.len() > 0 {
			if p, ok := t.tombs.get(h); ok && p.until > ns {
				if !syn {
					// A late segment of a connection already handed on.
					t.late++
					return
				}
				t.tombs.forget(h)
				prev, hasPrev = p, true
			}
		}
		if t.cfg.MaxConns > 0 && t.conns.len() >= t.cfg.MaxConns {
			t.evict()
		}
		c = t.newConn(*key, h, s)
		t.conns.put(h, c)
		if hasPrev {
			c.Incarnation = int(prev.incarnation) + 1
			c.noteReuse(&prev, s)
		}
	}
	// Into the list if not in it (a capture near 1970 has lruAt-like
	// times), else to its back at most every lruGranularity.
	if c.prev == nil && c.next == nil && t.lru.tail != c || ns-c.lruAt >= lruGranularity {
		t.lru.moveToBack(c)
		c.lruAt = ns
	}
	nt, na := len(c.Transitions), len(c.Anomalies)
	from := Server
	if s.Src == c.Client {
		from = Client
	}
	found := c.update(s, from)
	// While only a client's SYNs came, each is kept for parking.
	if (len(c.synSegs) > 0 || syn && c.Dir[Client].Packets+c.Dir[Server].Packets == 1) && t.parking() {
		t.recordSYN(c, s, ns)
	}
	if !c.closed && c.bothClosed() {
		c.closed = true
		t.after(lingerTimer, c, ns, t.cfg.ClosedLinger)
	}
	if len(c.Transitions) > nt {
		t.transitioned(c, nt, ns)
	}
	if t.onEvent != nil && len(c.Anomalies) > na {
		t.events(c, len(c.Transitions), na)
	}
	if c.stepped {
		t.onStep(Step{Conn: c, Segment: s, From: from, Findings: found})
	}
}

// transitioned sets the timers that the transitions of c from index nt on,
// all caused by the segment of capture time ns (Unix ns), call for, and
// hands them to OnEvent.
func (t *Tracker) transitioned(c *Conn, nt int, ns int64) {
	for i := nt; i < len(c.Transitions); i++ {
		switch c.Transitions[i].To {
		case TimeWait:
			// A closed connection is handed on after the linger, so only a
			// TIME_WAIT shorter than that needs a timer. Where the peer is
			// still open, the expiry is applied, with its own time, when
			// the connection is next looked at (idle timeout or the end):
			// a 60 s timer per connection would keep every closed
			// connection of the last minute in memory.
			if 2*t.cfg.MSL < t.cfg.ClosedLinger {
				t.after(timeWaitTimer, c, ns, 2*t.cfg.MSL)
			}
		case CloseWait:
			t.after(closeWaitTimer, c, ns, t.cfg.CloseWaitThreshold)
		}
	}
	if t.onEvent != nil {
		t.events(c, nt, len(c.Anomalies))
	}
}

// events hands c's transitions from index nt and anomalies from index na
// to OnEvent.
func (t *Tracker) events(c *Conn, nt, na int) {
	if t.onEvent == nil {
		return
	}
	// A data-path anomaly's text as first seen (classify leaves it to the
	// end), before any event, so that a listener reading c.Anomalies
	// sees it too.
	for i := na; i < len(c.Anomalies); i++ {
		if a := &c.Anomalies[i]; a.Text == "" && isDataPath(a.ID) {
			a.Text = c.dataPathText(a)
		}
	}
	for i := nt; i < len(c.Transitions); i++ {
		t.onEvent(Event{Conn: c, Transition: &c.Transitions[i]})
	}
	for i := na; i < len(c.Anomalies); i++ {
		t.onEvent(Event{Conn: c, Anomaly: &c.Anomalies[i]})
	}
}

// after sets a timer of a kind to look at c again d after at (Unix ns).
func (t *Tracker) after(kind int, c *Conn, at int64, d time.Duration) {
	t.timers[kind].push(timer{c, at + int64(d), c.gen})
}

// evict finishes the least recently active connection to make room.
func (t *Tracker) evict() {
	c := t.lru.head
	if c == nil {
		return
	}
	t.evicted++
	c.End = EndEvicted
	c.note(AnomalyTableFull, Client, 0, t.now, fmt.Sprintf("evicted after %s without packets: the connection table was full (%d connections)", round(t.now.Sub(c.Last)), t.cfg.MaxConns))
	t.finish(c)
}

// startsIncarnation reports whether a SYN (without ACK) on a 4-tuple that
// has connection c starts a new connection.
func startsIncarnation(c *Conn, s *capture.Segment) bool {
	from := Server
	if s.Src == c.Client {
		from = Client
	}
	d := &c.Dir[from]
	if d.SawSYN && s.Seq == d.ISN {
		return false // the same ISN is a retransmission
	}
	if c.bothClosed() || d.SawSYN {
		return true
	}
	// The side that has not sent a SYN yet: simultaneous open if the other
	// side is waiting for an answer to its own SYN.
	return c.State[from.Peer()] != SynSent
}

// newConn creates a connection for the first segment s of a 4-tuple, whose
// key hashes to h, and
// decides which side is the client.
func (t *Tracker) newConn(key capture.Key, h uint64, s *capture.Segment) *Conn {
	t.nextID++
	id := t.nextID
	if t.shard {
		id = uint64(s.Frame)
	}
	c := t.makeConn(key, h, s, id)
	if t.onCreate != nil {
		t.onCreate(c)
	}
	return c
}

// makeConn is newConn with the id given.
func (t *Tracker) makeConn(key capture.Key, h uint64, s *capture.Segment, id uint64) *Conn {
	var c *Conn
	if n := len(t.free); n > 0 {
		c = t.free[n-1]
		t.free[n-1] = nil
		t.free = t.free[:n-1]
		tr, an, syns, gen := c.Transitions[:0], c.Anomalies[:0], c.synSegs[:0], c.gen+1
		*c = Conn{ID: id, Key: key, Start: s.Time, FirstFrame: s.Frame, Incarnation: 1}
		c.Transitions, c.Anomalies, c.synSegs, c.gen = tr, an, syns, gen
	} else {
		c = &Conn{ID: id, Key: key, Start: s.Time, FirstFrame: s.Frame, Incarnation: 1}
	}
	if c.Transitions == nil {
		c.Transitions = make([]Transition, 0, usualTransitions)
	}
	c.hash = h
	c.stepped = t.onStep != nil && (t.stepWant == nil || t.stepWant(id))
	c.synTimes = [2][]time.Duration{c.synBuf[0][:0], c.synBuf[1][:0]}
	c.Dir[Client].WindowScale = capture.NoWindowScale
	c.Dir[Server].WindowScale = capture.NoWindowScale
	switch {
	case s.Flags&capture.RST == 0 && s.Flags&(capture.SYN|capture.ACK) == capture.SYN:
		c.Client, c.Server = s.Src, s.Dst
		c.Initial = [2]State{Closed, Listen}
	case s.Flags&capture.RST == 0 && s.Flags.Has(capture.SYN|capture.ACK):
		c.Client, c.Server = s.Dst, s.Src
		c.Initial = [2]State{SynSent, Listen}
		c.Partial = true
	default:
		c.Client, c.Server = s.Src, s.Dst
		if serverLike(s.Src.Port(), s.Dst.Port()) {
			c.Client, c.Server = s.Dst, s.Src
		}
		c.RoleGuessed, c.Partial = true, true
	}
	c.State = c.Initial
	if s.Src == c.Server {
		c.FirstSide = Server
	}
	return c
}

// serverLike reports whether port a looks more like a server's port than b:
// a well-known port against one that is not, or else the lower port.
func serverLike(a, b uint16) bool {
	if (a < 1024) != (b < 1024) {
		return a < 1024
	}
	return a < b
}

// chunkSize is the size of the chunks Config.Prepare appends to; a
// chunk with less than chunkReserve free is put aside for a new one.
const (
	chunkSize    = 64 << 10
	chunkReserve = 8 << 10
)

// prepare runs Config.Prepare on c and returns what it made, which stays
// valid until the chunk it is in is reused.
func (t *Tracker) prepare(c *Conn) []byte {
	if cap(t.prepared)-len(t.prepared) < chunkReserve {
		if len(t.prepared) > 0 {
			t.chunks = append(t.chunks, t.prepared)
		}
		if t.newChunk != nil {
			t.prepared = t.newChunk()[:0]
		} else {
			t.prepared = make([]byte, 0, chunkSize)
		}
	}
	at := len(t.prepared)
	out := t.cfg.Prepare(t.prepared, c)
	if cap(out) != cap(t.prepared) {
		// A record longer than the reserve: Prepare's append moved it to
		// memory of its own, the chunk stays as it was.
		return out[at:]
	}
	t.prepared = out
	return out[at:len(out):len(out)]
}

// maxFree bounds the released connections kept for reuse: about a second
// of closes at the benchmark corpus' rate. A Sharded's workers share it.
const maxFree = 16384

// Release gives back the memory of a connection that was handed on and
// that the caller no longer uses: nothing it pointed to (its transitions,
// its anomalies) may be used after the call. Releasing is optional; it
// spares the allocation and the garbage collection of a Conn per
// connection.
func (t *Tracker) Release(c *Conn) {
	if !c.done || c.released || len(t.free) >= t.maxFree {
		return
	}
	c.released = true
	c.Prepared = nil
	// A Conn in the free list keeps its slices' arrays for the next
	// connection, but not ones larger than most connections need: else
	// each would grow, over a long capture, to the largest any connection
	// it served had needed.
	if cap(c.Transitions) > usualTransitions {
		c.Transitions = nil
	}
	if cap(c.Anomalies) > keepAnomalies {
		c.Anomalies = nil
	}
	if cap(c.synSegs) > keepSynSegs {
		c.synSegs = nil
	}
	// Nor the rare part: kept, it would be on most pooled Conns after a
	// while (3-7 MB on synth-20m) for 2% fewer allocations.
	c.rare = nil
	clear(c.Anomalies) // their texts; transitions hold no pointers
	t.free = append(t.free, c)
}

// usualTransitions is room for a connection's life, some ten transitions:
// a new Conn gets it in one allocation, and a released one keeps no more.
// keepAnomalies and keepSynSegs are the largest arrays of anomalies and of
// parked SYNs a released Conn keeps: room for one, as most connections
// have at most one anomaly and are answered at once. Keeping 4 anomalies
// and 8 SYNs held some 15 MB more on synth-20m (the arrays of every
// pooled Conn that once needed more) for 10% fewer allocations.
const (
	usualTransitions = 10
	keepAnomalies    = 1
	keepSynSegs      = 1
)

// finish hands c on and forgets it.
func (t *Tracker) finish(c *Conn) {
	t.conns.remove(c.hash, c)
	t.lru.remove(c)
	c.done = true
	nt, na := len(c.Transitions), len(c.Anomalies)
	c.finalize(&t.cfg, t.now)
	t.events(c, nt, na)
	if t.cfg.Prepare != nil {
		c.Prepared = t.prepare(c)
	}
	t.emit(c)
	if !t.shard {
		t.prepared = t.prepared[:0]
	}
}

// sweep runs the timers that are due: TIME_WAIT expiry, the linger of
// closed connections, CLOSE_WAIT thresholds, connect and idle timeouts.
// It looks only at connections with a timer due and at those idle for
// longer than the shortest idle timeout, not at every connection.
func (t *Tracker) sweep() {
	t.nextSweep = t.now.Add(sweepEvery)
	now := t.now.UnixNano()
	t.expired = t.expired[:0]
	for kind := range t.timers {
		for {
			tm, ok := t.timers[kind].pop(now)
			if !ok {
				break
			}
			if c := tm.c; c.gen == tm.gen && !c.done && !c.expiring && t.due(c) {
				c.expiring = true
				t.expired = append(t.expired, c)
			}
		}
	}
	t.tombs.expire(now)
	minIdle := t.cfg.ConnectTimeout
	if t.cfg.IdleTimeout > 0 && (minIdle <= 0 || t.cfg.IdleTimeout < minIdle) {
		minIdle = t.cfg.IdleTimeout
	}
	if t.parking() {
		t.parkDue(now, minIdle)
	}
	t.unparkDue(now)
	// The list is in the order of lruAt, which trails Last by less than
	// lruGranularity: every connection idle for minIdle is before the first
	// whose lruAt is more recent than that.
	for c := t.lru.head; c != nil && minIdle > 0 && now-c.lruAt >= int64(minIdle); c = c.next {
		if t.now.Sub(c.Last) >= minIdle && !c.expiring && t.due(c) {
			c.expiring = true
			t.expired = append(t.expired, c)
		}
	}
	slices.SortFunc(t.expired, func(a, b *Conn) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range t.expired {
		t.finish(c)
	}
}

// due applies the timers that have run out for c and reports whether c
// is finished, setting its End.
func (t *Tracker) due(c *Conn) bool {
	nt, na := len(c.Transitions), len(c.Anomalies)
	t.expireTimeWait(c)
	for side := range Side(2) {
		if c.State[side] == CloseWait {
			c.closeWaitStuck(&t.cfg, side, t.now)
		}
	}
	t.events(c, nt, na)
	idle := t.now.Sub(c.Last)
	switch {
	case c.bothClosed():
		// Nothing but late retransmissions or a new SYN can come: hand it
		// on once it has been quiet for the linger, and remember a TIME_WAIT
		// in a tombstone.
		expired := c.State[Client] == Closed && c.State[Server] == Closed && c.Transitions[len(c.Transitions)-1].Rule == RuleTimeWaitExpired
		if idle < t.cfg.ClosedLinger && !expired {
			t.after(lingerTimer, c, c.Last.UnixNano(), t.cfg.ClosedLinger)
			return false
		}
		c.End = EndClosed
		t.entomb(c)
	case c.State[Client] == SynSent && idle >= t.cfg.ConnectTimeout:
		c.End = EndIdle
	case t.cfg.IdleTimeout > 0 && idle >= t.cfg.IdleTimeout:
		c.End = EndIdle
	default:
		return false
	}
	return true
}

// expireTimeWait ends the TIME_WAITs of c that 2*MSL of capture time have
// passed, as timer transitions dated when they ended.
func (t *Tracker) expireTimeWait(c *Conn) {
	twLen := 2 * t.cfg.MSL
	for side := range Side(2) {
		if end := c.timeWaitSince[side] + twLen; c.State[side] == TimeWait && t.now.Sub(c.Start) >= end {
			c.set(side, Closed, RuleTimeWaitExpired, 0, c.Time(end))
		}
	}
}

// entomb remembers closed connection c after it has been handed on: its
// TIME_WAIT, for judging a SYN that reuses the 4-tuple, and its 4-tuple,
// so that late segments (a retransmitted FIN, an ACK from TIME_WAIT) are
// counted as late rather than taken for a new connection.
func (t *Tracker) entomb(c *Conn) {
	t.tombs.add(c.hash, pastOf(c, 2*t.cfg.MSL))
}

// Late returns how many segments came on the 4-tuple of a closed connection
// after it had been handed on (retransmitted FINs and their ACKs, late
// RSTs): they are counted, not tracked.
func (t *Tracker) Late() int64 { return t.late }

// hashKey mixes k into 64 bits. Tombstones are keyed by it alone, 8 bytes
// instead of 40, so no two 4-tuples may collide by construction: only by
// chance, about 2^-64 for a pair.
func hashKey(k *capture.Key) uint64 {
	return endpointHash(&k.LoAddr, k.LoPort) + endpointHash(&k.HiAddr, k.HiPort) + vlanHash(k.VLAN)
}

// segmentHash is hashKey of the segment's key, without building the key:
// the sum makes the hash the same in both directions.
func segmentHash(s *capture.Segment) uint64 {
	src, dst := s.Src.Addr().As16(), s.Dst.Addr().As16()
	return endpointHash(&src, s.Src.Port()) + endpointHash(&dst, s.Dst.Port()) + vlanHash(s.VLAN)
}

// endpointHash mixes an address and port, one part at a time into what
// the ones before made: combining raw bits of two parts first (an earlier
// hash XORed the address's bytes 8-15 with the port) lets a change in one
// cancel a change in the other.
func endpointHash(a *[16]byte, port uint16) uint64 {
	x := mix64(binary.LittleEndian.Uint64(a[:8]))
	x = mix64(x ^ binary.LittleEndian.Uint64(a[8:]))
	return mix64(x ^ uint64(port))
}

func vlanHash(v [2]uint16) uint64 {
	if v == [2]uint16{} {
		return 0
	}
	return mix64(uint64(v[0])<<16 | uint64(v[1]) | 1<<40)
}

// mix64 is SplitMix64's finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// Flush ends the capture: every connection still in memory is handed on, in
// order of first appearance.
func (t *Tracker) Flush() {
	t.unparkAll()
	rest := make([]*Conn, 0, t.conns.len())
	t.conns.each(func(c *Conn) { rest = append(rest, c) })
	slices.SortFunc(rest, func(a, b *Conn) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range rest {
		nt := len(c.Transitions)
		t.expireTimeWait(c)
		t.events(c, nt, len(c.Anomalies))
		c.End = EndCapture
		if c.State[Client].closedOrWaiting() && c.State[Server].closedOrWaiting() {
			c.End = EndClosed
		}
		t.finish(c)
	}
}
