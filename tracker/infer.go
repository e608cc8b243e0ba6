package tracker

import (
	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
)

// update applies segment s, sent by side from, to c.
func (c *Conn) update(s *capture.Segment, from Side) {
	peer := from.Peer()
	snd := &c.Dir[from]
	c.Last, c.LastFrame = s.Time, s.Frame
	sent := snd.Send(s)
	f := s.Flags
	at := func(side Side, to State, rule Rule) { c.set(side, to, rule, s.Frame, s.Time) }

	if f&capture.RST != 0 {
		c.reset(s, from)
		return
	}
	if c.State[from] == Unknown && c.State[peer] == Unknown && f&capture.SYN == 0 {
		// Picked up mid-stream: a segment without SYN means the handshake
		// is over on both sides.
		at(from, Established, RuleMidStream)
		at(peer, Established, RuleMidStream)
	}

	if f&capture.SYN != 0 {
		if f&capture.ACK == 0 {
			switch c.State[from] {
			case Closed, Listen, Unknown: // Listen: simultaneous open
				if sent&reassembly.SentNewSYN != 0 {
					at(from, SynSent, RuleSentSYN)
				}
			}
		} else {
			// In a simultaneous open the SYN-ACK repeats the SYN's ISN, so
			// it counts even when the sequence number is not new.
			switch c.State[from] {
			case Listen, Unknown, SynSent: // SynSent: simultaneous open
				at(from, SynReceived, RuleSentSYNACK)
			}
		}
	}

	if f&capture.ACK != 0 {
		c.acknowledge(s, from, sent)
	}

	if sent&reassembly.SentNewFIN != 0 {
		if !c.SawFIN {
			c.SawFIN, c.FirstFIN = true, from
		}
		switch c.State[from] {
		case Established, SynReceived:
			at(from, FinWait1, RuleSentFIN)
		case CloseWait:
			at(from, LastAck, RuleSentFIN)
		}
	} else if sent&reassembly.SentRetransmittedFIN != 0 {
		// The FIN's sender did not get the ACK we may have seen.
		switch c.State[from] {
		case Closed:
			if !c.Reset.Seen {
				at(from, LastAck, RuleFINRetransmitted)
			}
		case FinWait2:
			at(from, FinWait1, RuleFINRetransmitted)
		}
	}
}

// acknowledge applies the ACK field of s, sent by from.
func (c *Conn) acknowledge(s *capture.Segment, from Side, sent reassembly.Sent) {
	peer := from.Peer()
	rcv := &c.Dir[peer]
	at := func(side Side, to State, rule Rule) { c.set(side, to, rule, s.Frame, s.Time) }

	if rcv.AckCoversSYN(s.Ack) {
		if c.State[from] == SynSent && s.Flags&capture.SYN == 0 {
			at(from, Established, RuleSentACKOfSYN)
		}
		if c.State[peer] == SynReceived {
			at(peer, Established, RuleGotACKOfSYN)
		}
	}
	if !rcv.AckCoversFIN(s.Ack) {
		return
	}
	// The sender has the peer's FIN.
	switch c.State[from] {
	case Established, SynReceived:
		at(from, CloseWait, RuleSentACKOfFIN)
	case FinWait1: // its own FIN is not acknowledged yet: simultaneous close
		at(from, Closing, RuleSentACKOfFIN)
	case FinWait2:
		at(from, TimeWait, RuleSentACKOfFIN)
	}
	// The peer's FIN is acknowledged.
	switch c.State[peer] {
	case FinWait1:
		if sent&reassembly.SentNewFIN != 0 {
			at(peer, TimeWait, RuleGotFINWithACKOfFIN)
		} else {
			at(peer, FinWait2, RuleGotACKOfFIN)
		}
	case Closing:
		at(peer, TimeWait, RuleGotACKOfFIN)
	case LastAck:
		at(peer, Closed, RuleGotACKOfFIN)
	}
}

// reset applies a RST sent by from.
func (c *Conn) reset(s *capture.Segment, from Side) {
	peer := from.Peer()
	if !c.rstAcceptable(s, from) {
		c.IgnoredRSTs++
		return
	}
	if !c.Reset.Seen {
		c.Reset = Reset{Seen: true, By: from, Frame: s.Frame, SenderState: c.State[from], PeerState: c.State[peer]}
	}
	if c.State[from] != Closed {
		c.set(from, Closed, RuleSentRST, s.Frame, s.Time)
	}
	if c.State[peer] != Closed {
		c.set(peer, Closed, RuleGotRST, s.Frame, s.Time)
	}
}

// rstAcceptable applies RFC 9293 section 3.10.7: in SYN_SENT a RST is
// acceptable if it acknowledges the SYN; elsewhere if its sequence number is
// in the receiver's window.
func (c *Conn) rstAcceptable(s *capture.Segment, from Side) bool {
	peer := from.Peer()
	snd, rcv := &c.Dir[from], &c.Dir[peer]
	switch c.State[peer] {
	case SynSent: // SND.UNA < SEG.ACK <= SND.NXT, and SND.NXT is ISN+1
		return s.Flags&capture.ACK != 0 && rcv.SawSYN && s.Ack == rcv.ISN+1
	case Unknown, Listen, Closed:
		return true
	}
	return reassembly.InWindow(s.Seq, snd, rcv)
}
