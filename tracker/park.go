package tracker

import (
	"container/heap"
	"math"
	"time"

	"github.com/tcplens/tcplens/capture"
)

// parkAfter is how long a connection that has seen nothing but its
// client's SYNs stays a whole Conn before it is parked.
const parkAfter = 2 * time.Second

// A connection whose client's SYN went unanswered is held for the connect
// timeout (127 s on Linux), and on a busy link or in a port scan those are
// most of the connections in memory: a 20 M-packet capture of the
// benchmark corpus held 50,600 of them at once. With Config.Park such a
// connection is parked after parkAfter without packets: its Conn is
// reused, and what is kept is its id and the SYN segments themselves.
// Its next packet, its timeout or the end of the capture replays them into
// a Conn, which is then exactly what it would have been: the state of a
// connection is a function of its segments, and nothing but the idle
// timeout happens to a connection in SYN_SENT.
type parked struct {
	key      capture.Key
	hash     uint64 // hashKey(&key)
	id       uint64
	first    synSeg    // the first SYN
	again    []synTime // the SYNs after it, if each is the first but for frame, time and TSval
	segs     []synSeg  // else every SYN after the first
	deadline int64     // Unix ns: Last + the shortest idle timeout
	at       int32     // index in the heap; -1 once unparked (int32: 176 bytes, not 192)
	bits     uint8     // parkedClientIsLo, parkedCaptureLoss
}

const (
	parkedClientIsLo  = 1 << iota // the client is the key's Lo endpoint
	parkedCaptureLoss             // Conn.CaptureLoss
)

// synSeg is a client's SYN segment as kept for parking: a capture.Segment
// without what the connection itself says (addresses, ports, VLANs),
// with its time in Unix ns, and without SACK blocks (a SYN with some is
// not kept).
type synSeg struct {
	frame             int64
	time              int64
	seq, ack          uint32
	tsVal, tsEcr      uint32
	payload, captured int32
	iface             int32
	window, mss       uint16
	flags             capture.Flags
	wscale            int8
	sackPerm, hasTS   bool
}

// synTime is a retransmitted SYN that repeats the first but for its frame,
// time and timestamp (which a retransmission of Linux's advances).
type synTime struct {
	frame, time int64
	tsVal       uint32
}

// keep returns s, whose time is ns in Unix ns, as a synSeg of c, if it can
// be one: what the connection says of it (its key, and which end is the
// client) and ns (of a UTC time, as capture.Reader's) must give it back
// exactly.
func keep(c *Conn, s *capture.Segment, ns int64) (synSeg, bool) {
	if s.Src != c.Client || s.Dst != c.Server || s.NumSACK != 0 ||
		s.PayloadLen > math.MaxInt32 || s.CapturedPayload > math.MaxInt32 || s.Interface > math.MaxInt32 || s.Interface < 0 {
		return synSeg{}, false
	}
	if len(c.synSegs) == 0 { // the first: the others share its addresses
		if lo, hi := c.Key.Lo(), c.Key.Hi(); !(lo == c.Client && hi == c.Server || hi == c.Client && lo == c.Server) {
			return synSeg{}, false
		}
	}
	if s.Time != time.Unix(0, ns).UTC() {
		return synSeg{}, false
	}
	return synSeg{frame: s.Frame, time: ns, seq: s.Seq, ack: s.Ack, tsVal: s.TSVal, tsEcr: s.TSEcr,
		payload: int32(s.PayloadLen), captured: int32(s.CapturedPayload), iface: int32(s.Interface), flags: s.Flags,
		window: s.Window, mss: s.MSS, wscale: s.WindowScale, sackPerm: s.SACKPerm, hasTS: s.HasTS}, true
}

// setSegs keeps the SYNs segs, the first of them in full and the others
// by frame, time and TSval where they repeat it.
func (p *parked) setSegs(segs []synSeg) {
	p.first = segs[0]
	rest := segs[1:]
	same := true
	for i := range rest {
		g := rest[i]
		g.frame, g.time, g.tsVal = p.first.frame, p.first.time, p.first.tsVal
		if g != p.first {
			same = false
			break
		}
	}
	if !same {
		p.segs = append([]synSeg(nil), rest...)
		return
	}
	if len(rest) > 0 {
		p.again = make([]synTime, len(rest))
		for i := range rest {
			p.again[i] = synTime{rest[i].frame, rest[i].time, rest[i].tsVal}
		}
	}
}

// numSegs is how many SYNs p holds.
func (p *parked) numSegs() int { return 1 + len(p.again) + len(p.segs) }

// seg returns the i-th SYN p holds.
func (p *parked) seg(i int) synSeg {
	switch {
	case i == 0:
		return p.first
	case p.segs != nil:
		return p.segs[i-1]
	}
	g := p.first
	a := &p.again[i-1]
	g.frame, g.time, g.tsVal = a.frame, a.time, a.tsVal
	return g
}

// segment returns the segment g was kept from.
func (p *parked) segment(g *synSeg) capture.Segment {
	client, server := p.key.Hi(), p.key.Lo()
	if p.bits&parkedClientIsLo != 0 {
		client, server = server, client
	}
	return capture.Segment{Frame: g.frame, Time: time.Unix(0, g.time).UTC(), Interface: int(g.iface), Src: client, Dst: server, VLAN: p.key.VLAN,
		Seq: g.seq, Ack: g.ack, Flags: g.flags, Window: g.window, MSS: g.mss, WindowScale: g.wscale, SACKPerm: g.sackPerm,
		HasTS: g.hasTS, TSVal: g.tsVal, TSEcr: g.tsEcr, PayloadLen: int(g.payload), CapturedPayload: int(g.captured)}
}

// parkHeap orders parked connections by deadline.
type parkHeap []*parked

func (h parkHeap) Len() int           { return len(h) }
func (h parkHeap) Less(i, j int) bool { return h[i].deadline < h[j].deadline }
func (h parkHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = int32(i), int32(j)
}
func (h *parkHeap) Push(x any) {
	p := x.(*parked)
	p.at = int32(len(*h))
	*h = append(*h, p)
}
func (h *parkHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	p.at = -1
	return p
}

// Parked returns how many connections are parked (Config.Park).
func (t *Tracker) Parked() int { return t.parked.len() }

// parking reports whether connections are parked at all: only when asked
// (Config.Park), with no OnEvent listener or OnStep listener for every
// connection (a parked connection's events and steps could not be told:
// with OnStepOf, those it wants are never parked) and no table limit
// (which counts Conns).
func (t *Tracker) parking() bool {
	return t.cfg.Park && t.onEvent == nil && (t.onStep == nil || t.stepWant != nil) && t.cfg.MaxConns <= 0
}

// synOnly reports whether c has seen nothing but SYNs from its client,
// each of them recorded in c.synSegs. What it has noted came from those
// segments (a retransmitted SYN), which replaying notes again; the first
// incarnation only, as a reuse is noted from a tombstone, not a segment.
func (c *Conn) synOnly() bool {
	return c.Initial == [2]State{Closed, Listen} && c.State == [2]State{SynSent, Listen} &&
		c.Incarnation == 1 && c.Dir[Server].Packets == 0 && int64(len(c.synSegs)) == c.Dir[Client].Packets
}

// recordSYN keeps segment s, just applied to c, while c has seen nothing
// but client SYNs, and sets the timer to park it; ns is s's time in Unix
// ns. track calls it for a connection's first SYN and while segments are
// being kept.
func (t *Tracker) recordSYN(c *Conn, s *capture.Segment, ns int64) {
	g, ok := keep(c, s, ns)
	if !ok {
		c.synSegs = c.synSegs[:0] // never parked, as one segment is missing
		return
	}
	c.synSegs = append(c.synSegs, g)
	if !c.synOnly() {
		c.synSegs = c.synSegs[:0]
		return
	}
	if len(c.synSegs) == 1 {
		t.parkQ.push(timer{c, ns + int64(parkAfter), c.gen})
	}
}

// parkDue parks the connections whose park timer has run out and that
// are still idle and SYN-only; the others that are SYN-only get a new timer.
func (t *Tracker) parkDue(now int64, minIdle time.Duration) {
	for {
		tm, ok := t.parkQ.pop(now)
		if !ok {
			return
		}
		c := tm.c
		if c.gen != tm.gen || c.done || c.expiring || !c.synOnly() || c.stepped {
			continue
		}
		if last := c.Last.UnixNano(); now-last < int64(parkAfter) {
			t.parkQ.push(timer{c, last + int64(parkAfter), c.gen})
			continue
		}
		t.park(c, minIdle)
	}
}

func (t *Tracker) park(c *Conn, minIdle time.Duration) {
	p := &parked{key: c.Key, hash: c.hash, id: c.ID}
	p.setSegs(c.synSegs)
	if c.Client == c.Key.Lo() {
		p.bits |= parkedClientIsLo
	}
	if c.CaptureLoss {
		p.bits |= parkedCaptureLoss
	}
	p.deadline = 1<<63 - 1
	if minIdle > 0 {
		p.deadline = c.Last.UnixNano() + int64(minIdle)
	}
	t.parked.put(p.hash, p)
	heap.Push(&t.parkQueue, p)
	t.conns.remove(c.hash, c)
	t.lru.remove(c)
	c.done = true
	t.Release(c)
}

// unpark replays a parked connection into a Conn in the table.
func (t *Tracker) unpark(p *parked) *Conn {
	t.parked.remove(p.hash, p)
	if p.at >= 0 {
		heap.Remove(&t.parkQueue, int(p.at))
	}
	first := p.segment(&p.first)
	c := t.makeConn(p.key, p.hash, &first, p.id)
	for i := range p.numSegs() {
		g := p.seg(i)
		s := p.segment(&g)
		c.update(&s, Client)
		c.synSegs = append(c.synSegs, g)
	}
	c.CaptureLoss = p.bits&parkedCaptureLoss != 0
	t.conns.put(p.hash, c)
	t.lru.moveToBack(c)
	c.lruAt = c.Last.UnixNano()
	if c.synOnly() {
		t.parkQ.push(timer{c, c.Last.Add(parkAfter).UnixNano(), c.gen})
	}
	return c
}

// unparkDue replays the parked connections whose idle timeout has come,
// for sweep to judge as it judges the connections it scans.
func (t *Tracker) unparkDue(now int64) {
	for len(t.parkQueue) > 0 && t.parkQueue[0].deadline <= now {
		p := heap.Pop(&t.parkQueue).(*parked)
		c := t.unpark(p)
		if !c.expiring && t.due(c) {
			c.expiring = true
			t.expired = append(t.expired, c)
		}
	}
}

// unparkAll replays every parked connection, for Flush.
func (t *Tracker) unparkAll() {
	for len(t.parkQueue) > 0 {
		t.unpark(heap.Pop(&t.parkQueue).(*parked))
	}
}
