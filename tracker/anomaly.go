package tracker

import (
	"fmt"
	"strings"
	"time"
)

// Anomaly is one thing that went wrong (or is worth knowing) in a
// connection's life.
type Anomaly struct {
	ID       string
	Severity Severity
	Side     Side  // the side it concerns
	Frame    int64 // where it was (first) seen; 0 for the end of the capture
	Time     time.Time
	Count    int    // how many times it was seen
	Text     string // one line a person can act on; a data-path anomaly's is written when its connection finishes (or for OnEvent)
}

// note records an anomaly, or counts it again if the connection already has
// one with the same id and side. It allocates only the first time.
func (c *Conn) note(id string, side Side, frame int64, t time.Time, text string) *Anomaly {
	for i := range c.Anomalies {
		if a := &c.Anomalies[i]; a.ID == id && a.Side == side {
			a.Count++
			return a
		}
	}
	k, _ := KindOf(id)
	c.Anomalies = append(c.Anomalies, Anomaly{ID: id, Severity: k.Severity, Side: side, Frame: frame, Time: t, Count: 1, Text: text})
	return &c.Anomalies[len(c.Anomalies)-1]
}

// closeWaitStuck notes close-wait-stuck, once, if side has been in
// CLOSE_WAIT for the threshold at capture time now. The text gives the time
// so far; at the end of the connection it is brought up to date.
func (c *Conn) closeWaitStuck(cfg *Config, side Side, now time.Time) {
	t, ok := c.enteredAt(side, CloseWait)
	if !ok || now.Sub(t.Time) < cfg.CloseWaitThreshold {
		return
	}
	text := fmt.Sprintf("the %s acknowledged the peer's FIN at frame %d but had not closed %s later: the application may be leaking sockets", side, t.Frame, round(now.Sub(t.Time)))
	for i := range c.Anomalies {
		if a := &c.Anomalies[i]; a.ID == AnomalyCloseWaitStuck && a.Side == side {
			a.Text = text
			return
		}
	}
	c.note(AnomalyCloseWaitStuck, side, t.Frame, t.Time, text)
}

// entered is when a side entered a state.
type entered struct {
	Frame int64
	Time  time.Time
}

// enteredAt returns the last transition of side into state s.
func (c *Conn) enteredAt(side Side, s State) (entered, bool) {
	for i := len(c.Transitions) - 1; i >= 0; i-- {
		if t := &c.Transitions[i]; t.Side == side && t.To == s {
			return entered{t.Frame, c.Time(t.Offset)}, true
		}
	}
	return entered{}, false
}

// finalize adds the anomalies that can only be judged when the connection
// leaves the tracker; now is the capture time then.
func (c *Conn) finalize(cfg *Config, now time.Time) {
	if c.Partial {
		c.note(AnomalyPartialStart, c.FirstSide, c.FirstFrame, c.Start, fmt.Sprintf("the opening was not captured: the first packet (frame %d) came from the %s", c.FirstFrame, c.FirstSide))
	}
	c.retransmittedOpenings()
	o := c.outcome()
	c.final, c.finalized = o, true
	switch o.ID {
	case OutcomeRefused:
		c.note(AnomalySYNRefused, Server, c.Reset.Frame, c.Reset.Time, fmt.Sprintf("the server answered the SYN with RST at frame %d: nothing listens on port %d", c.Reset.Frame, c.Server.Port()))
	case OutcomeSYNUnanswered:
		d := &c.Dir[Client]
		c.note(AnomalySYNUnanswered, Client, c.FirstFrame, c.Start, fmt.Sprintf("the SYN at frame %d was sent %d time(s) and never answered (%s)", c.FirstFrame, d.SYNs, gaps(c.synTimes[Client])))
	case OutcomeHandshakeFailed:
		t, _ := c.enteredAt(Server, SynReceived)
		c.note(AnomalyHandshakeIncomplete, Server, t.Frame, t.Time, fmt.Sprintf("the server sent SYN-ACK at frame %d and never saw it acknowledged: it was left half-open in SYN_RCVD", t.Frame))
	}
	for side := range Side(2) {
		c.closingAnomalies(cfg, side, now)
	}
	c.finishDataPath(now)
	if c.End == EndCapture && (o.ID == OutcomeOpen || o.ID == OutcomeHalfClosed) {
		c.note(AnomalyOpenAtEnd, Client, 0, now, fmt.Sprintf("still open when the capture ended (client %s, server %s)", c.State[Client], c.State[Server]))
	}
}

// retransmittedOpenings notes SYNs and SYN-ACKs sent more than once.
func (c *Conn) retransmittedOpenings() {
	for side, id := range [2]string{AnomalySYNRetransmitted, AnomalySYNACKRetransmitted} {
		times := c.synTimes[side]
		if len(times) < 2 {
			continue
		}
		what := "SYN"
		if side == int(Server) {
			what = "SYN-ACK"
		}
		a := c.note(id, Side(side), c.retransmitted(Side(side)).syn, c.Time(times[1]), fmt.Sprintf("%s sent %d times (%s)", what, len(times), gaps(times)))
		a.Count = len(times) - 1
	}
}

// closingAnomalies judges how side closed, or failed to.
func (c *Conn) closingAnomalies(cfg *Config, side Side, now time.Time) {
	d := &c.Dir[side]
	if d.FINs > 1 {
		a := c.note(AnomalyFINRetransmitted, side, c.retransmitted(side).fin, now, fmt.Sprintf("the %s sent its FIN %d times", side, d.FINs))
		a.Count = d.FINs - 1
	}
	switch c.State[side] {
	case LastAck:
		t, _ := c.enteredAt(side, LastAck)
		why := "the capture ended before any ACK of it"
		if d.FINs > 1 {
			why = fmt.Sprintf("no ACK seen although the FIN was sent %d times", d.FINs)
		}
		c.note(AnomalyMissingFinalACK, side, t.Frame, t.Time, fmt.Sprintf("the %s sent FIN at frame %d and never saw the final ACK: %s; it is left in LAST_ACK", side, t.Frame, why))
	case CloseWait:
		c.closeWaitStuck(cfg, side, now)
	case FinWait2:
		if t, ok := c.enteredAt(side, FinWait2); ok && cfg.FinWait2Timeout > 0 && now.Sub(t.Time) >= cfg.FinWait2Timeout {
			c.note(AnomalyFinWait2Stuck, side, t.Frame, t.Time, fmt.Sprintf("the %s waited in FIN_WAIT_2 from frame %d for %s: the peer never closed", side, t.Frame, round(now.Sub(t.Time))))
		}
	}
	if c.State[side] != LastAck && d.FINs > 1 && c.visitedBy(side, LastAck) {
		t, _ := c.enteredAt(side, LastAck)
		c.note(AnomalyMissingFinalACK, side, t.Frame, t.Time, fmt.Sprintf("the %s's FIN (frame %d) was acknowledged only after it was sent %d times", side, t.Frame, d.FINs))
	}
}

// visitedBy reports whether side ever entered s.
func (c *Conn) visitedBy(side Side, s State) bool {
	_, ok := c.enteredAt(side, s)
	return ok
}

// gaps formats the delays between successive times: "gaps 1s, 2s, 4s".
func gaps(times []time.Duration) string {
	if len(times) < 2 {
		return "sent once"
	}
	parts := make([]string, 0, len(times)-1)
	for i := 1; i < len(times); i++ {
		parts = append(parts, round(times[i]-times[i-1]).String())
	}
	return "gaps " + strings.Join(parts, ", ")
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Microsecond)
}
