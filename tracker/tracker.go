package tracker

import (
	"cmp"
	"slices"
	"time"

	"github.com/tcplens/tcplens/capture"
)

// sweepEvery is how often, in capture time, timers are checked.
const sweepEvery = time.Second

// Tracker groups segments into connections and infers their states.
type Tracker struct {
	cfg       Config
	emit      func(*Conn)
	conns     map[capture.Key]*Conn
	nextID    uint64
	now       time.Time
	nextSweep time.Time
	expired   []*Conn // reused by sweep
}

// New returns a Tracker that hands finished connections to emit.
func New(cfg Config, emit func(*Conn)) *Tracker {
	return &Tracker{cfg: cfg, emit: emit, conns: make(map[capture.Key]*Conn)}
}

// Open returns the number of connections in memory.
func (t *Tracker) Open() int { return len(t.conns) }

// Track applies one segment. Segments must come in capture order.
func (t *Tracker) Track(s *capture.Segment) {
	if s.Time.After(t.now) {
		t.now = s.Time
	}
	if !t.now.Before(t.nextSweep) {
		t.sweep()
	}
	key, _ := capture.KeyOf(s)
	c := t.conns[key]
	var prev *Conn
	if c != nil && s.Flags&(capture.SYN|capture.ACK|capture.RST) == capture.SYN && startsIncarnation(c, s) {
		prev, c = c, nil
		prev.End = EndClosed
		if !prev.bothClosed() {
			prev.End = EndSuperseded
		}
		t.finish(prev)
	}
	if c == nil {
		c = t.newConn(key, s)
		t.conns[key] = c
		if prev != nil {
			c.Incarnation = prev.Incarnation + 1
			c.noteReuse(prev, s)
		}
	}
	from := Server
	if s.Src == c.Client {
		from = Client
	}
	c.update(s, from)
	if c.closedSince.IsZero() && c.bothClosed() {
		c.closedSince = s.Time
	}
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

// newConn creates a connection for the first segment s of a 4-tuple and
// decides which side is the client.
func (t *Tracker) newConn(key capture.Key, s *capture.Segment) *Conn {
	t.nextID++
	c := &Conn{ID: t.nextID, Key: key, Start: s.Time, FirstFrame: s.Frame, Incarnation: 1}
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

// finish hands c on and forgets it.
func (t *Tracker) finish(c *Conn) {
	if t.conns[c.Key] == c {
		delete(t.conns, c.Key)
	}
	c.finalize(&t.cfg, t.now)
	t.emit(c)
}

// sweep runs the timers: TIME_WAIT expiry, the linger of closed
// connections, connect and idle timeouts.
func (t *Tracker) sweep() {
	t.nextSweep = t.now.Add(sweepEvery)
	twLen := 2 * t.cfg.MSL
	t.expired = t.expired[:0]
	for _, c := range t.conns {
		for side := range Side(2) {
			if c.State[side] == TimeWait && !t.now.Before(c.timeWaitSince[side].Add(twLen)) {
				c.set(side, Closed, RuleTimeWaitExpired, 0, c.timeWaitSince[side].Add(twLen))
			}
		}
		idle := t.now.Sub(c.Last)
		switch {
		case c.State[Client] == Closed && c.State[Server] == Closed && !c.closedSince.IsZero() && t.now.Sub(c.closedSince) >= t.cfg.ClosedLinger:
			c.End = EndClosed
		case c.State[Client].closedOrWaiting() && c.State[Server].closedOrWaiting():
			if c.State[Client] == Closed && c.State[Server] == Closed {
				if c.closedSince.IsZero() {
					c.closedSince = t.now
				}
				if t.now.Sub(c.closedSince) >= t.cfg.ClosedLinger || c.Transitions[len(c.Transitions)-1].Rule == RuleTimeWaitExpired {
					c.End = EndClosed
				} else {
					continue
				}
			} else {
				continue // TIME_WAIT keeps the 4-tuple
			}
		case c.State[Client] == SynSent && idle >= t.cfg.ConnectTimeout:
			c.End = EndIdle
		case t.cfg.IdleTimeout > 0 && idle >= t.cfg.IdleTimeout:
			c.End = EndIdle
		default:
			continue
		}
		t.expired = append(t.expired, c)
	}
	slices.SortFunc(t.expired, func(a, b *Conn) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range t.expired {
		t.finish(c)
	}
}

// Flush ends the capture: every connection still in memory is handed on, in
// order of first appearance.
func (t *Tracker) Flush() {
	rest := make([]*Conn, 0, len(t.conns))
	for _, c := range t.conns {
		rest = append(rest, c)
	}
	slices.SortFunc(rest, func(a, b *Conn) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range rest {
		c.End = EndCapture
		if c.State[Client].closedOrWaiting() && c.State[Server].closedOrWaiting() {
			c.End = EndClosed
		}
		t.finish(c)
	}
}
