package tracker

import "fmt"

// Outcome is how a connection ended, as a stable id and a sentence.
type Outcome struct {
	ID   string // e.g. "closed-by-client", "refused", "reset"
	Text string // e.g. "closed by client, server saw final ACK"
}

// The outcome ids. The README explains each.
const (
	OutcomeClosedByClient    = "closed-by-client"
	OutcomeClosedByServer    = "closed-by-server"
	OutcomeClosedNoFinalACK  = "closed-no-final-ack"
	OutcomeSimultaneousClose = "simultaneous-close"
	OutcomeHalfClosed        = "half-closed"
	OutcomeRefused           = "refused"
	OutcomeSYNUnanswered     = "syn-unanswered"
	OutcomeHandshakeFailed   = "handshake-incomplete"
	OutcomeReset             = "reset"
	OutcomeOpen              = "open"
	OutcomeIdle              = "idle-timeout"
	OutcomeSuperseded        = "superseded"
	OutcomeEvicted           = "evicted"
)

// OutcomeIDs lists every outcome id in the order reports sum them.
var OutcomeIDs = []string{
	OutcomeClosedByClient, OutcomeClosedByServer, OutcomeClosedNoFinalACK,
	OutcomeSimultaneousClose, OutcomeHalfClosed, OutcomeRefused,
	OutcomeSYNUnanswered, OutcomeHandshakeFailed, OutcomeReset, OutcomeOpen,
	OutcomeIdle, OutcomeSuperseded, OutcomeEvicted,
}

// afterClose reports whether the RST came after the connection had closed
// (it ended a TIME_WAIT, RFC 1337): the close, not the RST, is the outcome.
func (r Reset) afterClose() bool {
	return r.PeerState.closedOrWaiting() && r.SenderState.closedOrWaiting()
}

// Outcome describes how the connection ended (or, before it has, how it
// stands).
func (c *Conn) Outcome() Outcome {
	if c.finalized {
		return c.final
	}
	return c.outcome()
}

func (c *Conn) outcome() Outcome {
	cs, ss := c.State[Client], c.State[Server]
	switch {
	case c.Reset.Seen && !c.Reset.afterClose():
		r := c.Reset
		if r.PeerState == SynSent && (r.SenderState == Listen || r.SenderState == Unknown) {
			return Outcome{OutcomeRefused, "refused: RST to SYN"}
		}
		return Outcome{OutcomeReset, fmt.Sprintf("reset by %s in %s", r.By, r.SenderState)}
	case c.SawFIN:
		return c.closeOutcome()
	case cs == SynSent && (ss == Listen || ss == Unknown):
		return Outcome{OutcomeSYNUnanswered, "SYN never answered"}
	case ss == SynReceived || cs == SynReceived:
		return Outcome{OutcomeHandshakeFailed, "handshake never completed: SYN-ACK not acknowledged"}
	}
	return c.openOutcome("")
}

func (c *Conn) closeOutcome() Outcome {
	closer := c.FirstFIN
	passive := closer.Peer()
	cs, ps := c.State[closer], c.State[passive]
	if c.Dir[passive].SawFIN {
		if cs == Closing || ps == Closing || c.visited(Closing) {
			return Outcome{OutcomeSimultaneousClose, "simultaneous close: both sides sent FIN before seeing the other's"}
		}
		switch {
		case ps == Closed || ps == TimeWait && cs == Closed:
			// The commonest outcomes: constant strings, no formatting.
			if closer == Server {
				return Outcome{OutcomeClosedByServer, "closed by server, client saw final ACK"}
			}
			return Outcome{OutcomeClosedByClient, "closed by client, server saw final ACK"}
		case ps == LastAck:
			return Outcome{OutcomeClosedNoFinalACK, fmt.Sprintf("closed by %s, final ACK not seen: %s left in LAST_ACK", closer, passive)}
		}
		return Outcome{OutcomeClosedNoFinalACK, fmt.Sprintf("closed by %s, final ACK not seen (%s %s, %s %s)", closer, closer, cs, passive, ps)}
	}
	return c.openOutcome(fmt.Sprintf("half-closed by %s", closer))
}

// openOutcome describes a connection that had not finished closing.
func (c *Conn) openOutcome(half string) Outcome {
	states := fmt.Sprintf("client %s, server %s", c.State[Client], c.State[Server])
	var o Outcome
	switch c.End {
	case EndIdle:
		o = Outcome{OutcomeIdle, "idle timeout (" + states + ")"}
	case EndSuperseded:
		o = Outcome{OutcomeSuperseded, "superseded: a new SYN started another connection on the same 4-tuple (" + states + ")"}
	case EndEvicted:
		o = Outcome{OutcomeEvicted, "evicted from a full connection table (" + states + ")"}
	default:
		o = Outcome{OutcomeOpen, "still open at end of capture (" + states + ")"}
	}
	if half != "" {
		o.ID = OutcomeHalfClosed
		o.Text = half + "; " + o.Text
	}
	return o
}

// visited reports whether either side ever entered s.
func (c *Conn) visited(s State) bool {
	for _, t := range c.Transitions {
		if t.To == s {
			return true
		}
	}
	return false
}
