package tracker

import (
	"fmt"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
)

// past is what the tracker remembers of a 4-tuple's previous connection
// when a SYN starts a new one: the connection itself while it is in
// memory, or its tombstone once it has been handed on. It holds no
// pointers, so a table of them costs the garbage collector nothing, and it
// is small: the table holds every connection closed in the last 2*MSL.
type past struct {
	firstFrame  int64    // the old connection's first frame, which texts name
	since       [2]int64 // when each side entered TIME_WAIT (Unix ns)
	until       int64    // when the tombstone is forgotten (Unix ns)
	nextSeq     [2]uint32
	tsVal       [2]uint32
	incarnation int32
	states      [2]State // for reuse-while-open
	bits        pastBits
}

// pastBits are past's flags.
type pastBits uint8

const (
	pastClientIsLo pastBits = 1 << iota // the old client is the key's Lo endpoint
	pastOpen                            // the connection was not closed
	pastTimeWait                        // side 0 (client) was in TIME_WAIT; << side
	_
	pastTS // side 0 sent timestamps; << side
)

func (p *past) timeWait(side Side) bool { return p.bits&(pastTimeWait<<side) != 0 }
func (p *past) hasTS(side Side) bool    { return p.bits&(pastTS<<side) != 0 }

// pastOf sums up c for judging a SYN that reuses its 4-tuple; twLen is the
// TIME_WAIT length. The tombstone lasts until the last TIME_WAIT ends, and
// at least twLen after c's last packet, to recognise late segments.
func pastOf(c *Conn, twLen time.Duration) past {
	p := past{firstFrame: c.FirstFrame, incarnation: int32(c.Incarnation), states: c.State, until: c.Last.Add(twLen).UnixNano()}
	if c.Client == c.Key.Lo() {
		p.bits |= pastClientIsLo
	}
	if !c.bothClosed() {
		p.bits |= pastOpen
	}
	for side := range Side(2) {
		d := &c.Dir[side]
		p.nextSeq[side], p.tsVal[side] = d.NextSeq, d.LastTSVal
		if d.Timestamps {
			p.bits |= pastTS << side
		}
		if c.State[side] == TimeWait {
			p.bits |= pastTimeWait << side
			p.since[side] = c.Time(c.timeWaitSince[side]).UnixNano()
			p.until = max(p.until, p.since[side]+int64(twLen))
		}
	}
	return p
}

// noteReuse judges the SYN s that started c on the 4-tuple of the previous
// connection p.
func (c *Conn) noteReuse(p *past, s *capture.Segment) {
	sender := Server // the SYN's sender, in the old connection's terms
	if (s.Src == c.Key.Lo()) == (p.bits&pastClientIsLo != 0) {
		sender = Client
	}
	// In c the SYN's sender is the client.
	inNew := func(side Side) Side {
		if side == sender {
			return Client
		}
		return Server
	}
	for _, holder := range [...]Side{sender.Peer(), sender} {
		if !p.timeWait(holder) {
			continue
		}
		age := s.Time.Sub(time.Unix(0, p.since[holder]))
		addr := s.Dst
		if holder == sender {
			addr = s.Src
		}
		text := fmt.Sprintf("the SYN at frame %d reuses the 4-tuple of the connection that began at frame %d while its %s (%s) has been in TIME_WAIT for %s", s.Frame, p.firstFrame, holder, addr, round(age))
		sev := Warning
		if holder == sender {
			text += "; the TIME_WAIT is on the SYN's own host, whose stack allowed the reuse (SO_REUSEADDR or tcp_tw_reuse)"
		} else {
			next, ts := p.nextSeq[sender], p.tsVal[sender]
			switch {
			case reassembly.SeqGT(s.Seq, next):
				text += fmt.Sprintf("; RFC 6191 accepts it: ISN %d is above the old connection's last sequence number %d", s.Seq, next)
			case s.HasTS && p.hasTS(sender) && reassembly.SeqGT(s.TSVal, ts):
				text += fmt.Sprintf("; RFC 6191 accepts it: timestamp %d is above the old connection's last %d, although ISN %d is not above %d", s.TSVal, ts, s.Seq, next)
			default:
				sev = Error
				text += fmt.Sprintf("; RFC 1122 4.2.2.13 and RFC 6191 reject it: ISN %d is not above the old connection's last sequence number %d and no greater timestamp", s.Seq, next)
			}
		}
		a := c.note(AnomalyReuseInTimeWait, inNew(holder), s.Frame, s.Time, text)
		a.Severity = sev
		if holder != sender {
			c.reuseIndex, c.reuseHolder = len(c.Anomalies), inNew(holder)
		}
		return
	}
	if p.bits&pastOpen != 0 {
		c.note(AnomalyReuseWhileOpen, Client, s.Frame, s.Time, fmt.Sprintf("a SYN with a new ISN at frame %d on the 4-tuple of the connection that began at frame %d, which was still open (client %s, server %s)", s.Frame, p.firstFrame, p.states[Client], p.states[Server]))
	}
}

// answerReuse records what the TIME_WAIT holder answered to a reusing SYN.
func (c *Conn) answerReuse(s *capture.Segment) {
	a := &c.Anomalies[c.reuseIndex-1]
	c.reuseIndex = 0
	switch f := s.Flags; {
	case f.Has(capture.SYN | capture.ACK):
		a.Text += fmt.Sprintf("; the %s accepted it (SYN-ACK at frame %d)", c.reuseHolder, s.Frame)
	case f&capture.RST != 0:
		a.Text += fmt.Sprintf("; the %s answered with RST at frame %d", c.reuseHolder, s.Frame)
	case f&capture.ACK != 0:
		a.Text += fmt.Sprintf("; the %s answered with an ACK for the old connection at frame %d: it did not accept the SYN", c.reuseHolder, s.Frame)
	}
}
