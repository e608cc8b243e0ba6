package tracker

import (
	"fmt"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
)

// update applies segment s, sent by side from, to c, and returns what the
// data-path analysis found in it.
func (c *Conn) update(s *capture.Segment, from Side) (found reassembly.Flags) {
	peer := from.Peer()
	snd := &c.Dir[from]
	c.Last, c.LastFrame = s.Time, s.Frame
	found = c.classify(s, from)
	hadFIN, finSeq := snd.SawFIN, snd.FINSeq
	sent := snd.Send(s)
	f := s.Flags
	at := func(side Side, to State, rule Rule) { c.set(side, to, rule, s.Frame, s.Time) }

	if c.reuseIndex > 0 && from == c.reuseHolder {
		c.answerReuse(s)
	}
	if s.PayloadLen > 0 {
		if hadFIN && reassembly.SeqGT(s.Seq+uint32(s.PayloadLen), finSeq) {
			c.note(AnomalyDataAfterFIN, from, s.Frame, s.Time, fmt.Sprintf("the %s sent data (frame %d) beyond its own FIN", from, s.Frame))
		}
		if c.Reset.Seen {
			c.note(AnomalyDataAfterRST, from, s.Frame, s.Time, fmt.Sprintf("the %s sent data (frame %d) after the RST at frame %d", from, s.Frame, c.Reset.Frame))
		}
	}
	// A side's SYN-bearing segments of the same kind as its first one: in
	// a simultaneous open the SYN-ACK repeating the SYN is no retransmission.
	if kind := f & (capture.SYN | capture.ACK); f&capture.SYN != 0 && (len(c.synTimes[from]) == 0 || kind == c.synKind[from]) {
		c.synKind[from] = kind
		c.synTimes[from] = append(c.synTimes[from], s.Time.Sub(c.Start))
		if len(c.synTimes[from]) == 2 {
			c.rareData().synFrames[from] = s.Frame
		}
	}
	if sent&reassembly.SentRetransmittedFIN != 0 && c.retransmitted(from).fin == 0 {
		c.rareData().finFrames[from] = s.Frame
	}

	if f&capture.RST != 0 {
		c.reset(s, from)
		return found
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
			case SynSent:
				at(from, SynReceived, RuleSentSYNACK)
				c.note(AnomalySimultaneousOpen, from, s.Frame, s.Time, fmt.Sprintf("both sides sent SYN; the %s answered with SYN-ACK at frame %d", from, s.Frame))
			case Listen, Unknown:
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
	return found
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
		c.note(AnomalySimultaneousClose, from, s.Frame, s.Time, fmt.Sprintf("both sides sent FIN before acknowledging the other's; the %s entered CLOSING at frame %d", from, s.Frame))
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
		c.note(AnomalyRSTOutOfWindow, from, s.Frame, s.Time, fmt.Sprintf("the %s's RST at frame %d (seq %d) is outside the %s's window: ignored, it may be late or injected", from, s.Frame, s.Seq, peer))
		return
	}
	ss, ps := c.State[from], c.State[peer]
	if !c.Reset.Seen {
		c.Reset = Reset{Seen: true, By: from, Frame: s.Frame, Time: s.Time, SenderState: ss, PeerState: ps}
	}
	rcv := &c.Dir[peer]
	switch {
	case ps == TimeWait:
		c.note(AnomalyTimeWaitAssassination, peer, s.Frame, s.Time, fmt.Sprintf("a RST from the %s at frame %d ended the %s's TIME_WAIT early (RFC 1337)", from, s.Frame, peer))
	case ss == Established || ss == CloseWait:
		c.note(AnomalyRSTAbort, from, s.Frame, s.Time, fmt.Sprintf("the %s reset the connection at frame %d in %s (the %s was in %s): an abortive close", from, s.Frame, ss, peer, ps))
	}
	if ps != SynSent && rcv.SawACK && s.Seq != rcv.HighAck && ps != Unknown {
		c.note(AnomalyRSTChallengeACK, from, s.Frame, s.Time, fmt.Sprintf("the RST at frame %d has seq %d, in the window but not the expected %d: an RFC 5961 stack answers with a challenge ACK instead of resetting", s.Frame, s.Seq, rcv.HighAck))
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
