package tracker

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
)

// dataPathIDs maps each reassembly finding, by bit, to the anomaly id that
// reports it; "" for findings that are normal traffic (the answers to
// probes and keep-alives, window updates).
var dataPathIDs = [reassembly.NumFlags]string{}

// reported is the set of findings that become anomalies.
var reported reassembly.Flags

func init() {
	for bit, id := range map[reassembly.Flags]string{
		reassembly.Retransmission:         AnomalyRetransmission,
		reassembly.FastRetransmission:     AnomalyFastRetransmission,
		reassembly.SpuriousRetransmission: AnomalySpuriousRetransmission,
		reassembly.OutOfOrder:             AnomalyOutOfOrder,
		reassembly.LostSegment:            AnomalyLostSegment,
		reassembly.AckedUnseen:            AnomalyAckedUnseen,
		reassembly.DuplicateAck:           AnomalyDuplicateACK,
		reassembly.ZeroWindow:             AnomalyZeroWindow,
		reassembly.ZeroWindowProbe:        AnomalyZeroWindowProbe,
		reassembly.WindowFull:             AnomalyWindowFull,
		reassembly.KeepAlive:              AnomalyKeepAlive,
	} {
		dataPathIDs[bits.TrailingZeros16(uint16(bit))] = id
		reported |= bit
	}
}

// stall follows one side's zero-window advertisements.
type stall struct {
	since      int64 // capture time (Unix ns) of the zero window still in force; 0: none
	sinceFrame int64
	longest    time.Duration // the longest finished stall
	from, to   int64         // its first zero-window frame and the frame that reopened the window
	probes     int           // keep-alives this side sent while the peer's window was zero
}

// classify runs the data-path analysis on s, sent by from, and counts its
// findings as anomalies: the first of each id and side is noted with its
// frame, later ones only counted. It allocates only when an id is first
// seen on a side.
//
// Two findings are dropped where the tracker knows better than Wireshark's
// per-segment rules: the SYN-ACK of a simultaneous open repeats its sender's
// SYN and is no retransmission, and a TIME_WAIT holder's ACK for the old
// connection, answering a SYN that reuses the 4-tuple, acknowledges data
// of that old connection, not data the capture missed.
func (c *Conn) classify(s *capture.Segment, from Side) reassembly.Flags {
	f := c.analyzer.Classify(s, int(from))
	if s.Flags.Has(capture.SYN|capture.ACK) && c.State[from] == SynSent {
		f &^= reassembly.Retransmission
	}
	if c.reuseIndex > 0 && from == c.reuseHolder && s.Flags&(capture.SYN|capture.RST) == 0 {
		f &^= reassembly.AckedUnseen
	}
	c.followStall(s, from, f)
	if f&reassembly.AckedUnseen != 0 {
		c.CaptureLoss = true
	}
	if f&reassembly.KeepAlive != 0 {
		if z := c.stall(from.Peer()); z != nil && z.since != 0 {
			c.stall(from).probes++
		}
	}
	for rest := f & reported; rest != 0; rest &= rest - 1 {
		bit := bits.TrailingZeros16(uint16(rest))
		if i := c.dpIndex[from][bit]; i > 0 {
			c.Anomalies[i-1].Count++
			continue
		}
		id := dataPathIDs[bit]
		k, _ := KindOf(id)
		c.Anomalies = append(c.Anomalies, Anomaly{ID: id, Severity: k.Severity, Side: from, Frame: s.Frame, Time: s.Time, Count: 1})
		if n := len(c.Anomalies); n <= 255 {
			c.dpIndex[from][bit] = uint8(n)
		}
		// No text yet: finishDataPath writes it with the final count, and
		// an OnEvent listener gets it from Tracker.events.
	}
	return f
}

// followStall keeps the longest time side from advertised a zero window.
func (c *Conn) followStall(s *capture.Segment, from Side, f reassembly.Flags) {
	z := c.stall(from)
	switch {
	case f&reassembly.ZeroWindow != 0:
		if z == nil {
			z = &c.rareData().stalls[from]
		}
		if z.since == 0 {
			z.since, z.sinceFrame = s.Time.UnixNano(), s.Frame
		}
	case z != nil && z.since != 0 && s.Window > 0 && s.Flags&capture.RST == 0:
		now := s.Time.UnixNano()
		if d := time.Duration(now - z.since); d > z.longest || z.to == 0 {
			z.longest, z.from, z.to = d, z.sinceFrame, s.Frame
		}
		z.since = 0
	}
}

// finishDataPath rewrites the data-path anomalies' texts with their final
// counts.
func (c *Conn) finishDataPath(now time.Time) {
	for i := range c.Anomalies {
		a := &c.Anomalies[i]
		if isDataPath(a.ID) {
			a.Text = c.dataPathText(a)
			if a.ID == AnomalyZeroWindow {
				a.Text += c.stallText(a.Side, now)
			}
		}
	}
}

func isDataPath(id string) bool {
	for _, d := range dataPathIDs {
		if d != "" && d == id {
			return true
		}
	}
	return false
}

// dataPathText is the sentence of a data-path anomaly.
func (c *Conn) dataPathText(a *Anomaly) string {
	side, peer := a.Side, a.Side.Peer()
	n, at := a.Count, fmt.Sprintf("first at frame %d", a.Frame)
	switch a.ID {
	case AnomalyRetransmission:
		return fmt.Sprintf("the %s retransmitted %s, %s%s", side, plural(n, "segment"), at, c.retransmissionKinds(side))
	case AnomalyFastRetransmission:
		return fmt.Sprintf("the %s fast-retransmitted %s after duplicate ACKs, %s: loss repaired without a timeout", side, plural(n, "segment"), at)
	case AnomalySpuriousRetransmission:
		return fmt.Sprintf("the %s retransmitted %s that the %s had already acknowledged, %s", side, plural(n, "segment"), peer, at)
	case AnomalyOutOfOrder:
		return fmt.Sprintf("%s from the %s came below data already seen (out of order), %s", plural(n, "segment"), side, at)
	case AnomalyLostSegment:
		return fmt.Sprintf("%s in the %s's data were not captured (previous segment not captured), %s", plural(n, "gap"), side, at)
	case AnomalyAckedUnseen:
		return fmt.Sprintf("the %s acknowledged data the capture never saw %s, %s: the capture missed packets, so states may be incomplete", side, times(n), at)
	case AnomalyDuplicateACK:
		return fmt.Sprintf("the %s sent %s: data from the %s was lost or reordered, %s", side, plural(n, "duplicate ACK"), peer, at)
	case AnomalyZeroWindow:
		return fmt.Sprintf("the %s advertised a zero window %s, %s: it stopped taking data", side, times(n), at)
	case AnomalyZeroWindowProbe:
		return fmt.Sprintf("the %s probed the %s's zero window %s, %s", side, peer, times(n), at)
	case AnomalyWindowFull:
		return fmt.Sprintf("the %s filled the %s's advertised window %s, %s: the receiver limited throughput", side, peer, times(n), at)
	case AnomalyKeepAlive:
		if z := c.stall(side); z != nil && z.probes > 0 {
			p := z.probes
			return fmt.Sprintf("the %s sent %s, %s; %d of them while the %s's window was zero: zero-window probes in Linux's form (seq one below the next)", side, plural(n, "keep-alive"), at, p, peer)
		}
		return fmt.Sprintf("the %s sent %s, %s", side, plural(n, "keep-alive"), at)
	}
	return ""
}

// retransmissionKinds says how many of side's retransmissions were fast or
// spurious: " (3 fast, 1 spurious)".
func (c *Conn) retransmissionKinds(side Side) string {
	var fast, spurious int
	for _, a := range c.Anomalies {
		if a.Side != side {
			continue
		}
		switch a.ID {
		case AnomalyFastRetransmission:
			fast = a.Count
		case AnomalySpuriousRetransmission:
			spurious = a.Count
		}
	}
	if fast == 0 && spurious == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d fast, %d spurious)", fast, spurious)
}

// stallText describes side's longest zero-window stall.
func (c *Conn) stallText(side Side, now time.Time) string {
	z := c.stall(side)
	if z == nil {
		return ""
	}
	if z.since != 0 {
		d := now.Sub(time.Unix(0, z.since))
		if d >= z.longest {
			return fmt.Sprintf("; still zero at the end, %s after frame %d", round(d), z.sinceFrame)
		}
	}
	if z.to == 0 {
		return ""
	}
	return fmt.Sprintf("; the longest stall lasted %s, from frame %d to the window update at frame %d", round(z.longest), z.from, z.to)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
