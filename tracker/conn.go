package tracker

import (
	"net/netip"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
)

// Transition is one inferred state change of one side. Its time is kept
// as an offset from the connection's start (Conn.Time gives it back as a
// time): 24 bytes instead of 40, and a connection's ten of them fit a
// smaller size class. An offset, unlike Unix ns, holds any capture time
// exactly (pcapng's Simple Packet Blocks have the zero time, year 1).
type Transition struct {
	Frame    int64         // the frame that caused it; 0 for a timer
	Offset   time.Duration // when: this long after Conn.Start
	Side     Side
	From, To State
	Rule     Rule
}

// End says why a connection left the tracker.
type End uint8

// Why connections end.
const (
	EndCapture    End = iota // the capture ended
	EndClosed                // both sides closed (TIME_WAIT expired, or RST)
	EndIdle                  // nothing seen for the idle timeout
	EndSuperseded            // a SYN with a new ISN started a new incarnation
	EndEvicted               // the table was full (Config.MaxConns)
)

// Reset records the RST that ended a connection.
type Reset struct {
	Frame       int64
	Time        time.Time
	Seen        bool
	By          Side
	SenderState State // the sender's state before it sent the RST
	PeerState   State // the receiver's state before it got the RST
}

// Conn is one incarnation of a TCP 4-tuple.
type Conn struct {
	ID          uint64 // order of first appearance in the capture, from 1
	Key         capture.Key
	Client      netip.AddrPort
	Server      netip.AddrPort
	Incarnation int // 1, or one more than the connection before it on this 4-tuple while the tracker remembered that one

	Start, Last           time.Time
	FirstFrame, LastFrame int64
	Dir                   [2]reassembly.Direction
	Transitions           []Transition
	Reset                 Reset
	IgnoredRSTs           int // RSTs outside the receiver's window: no effect on state
	Anomalies             []Anomaly
	// Prepared is what Config.Prepare made of the connection, valid until
	// the connection has been handed on.
	Prepared []byte

	Initial     [2]State // states before the first transition
	State       [2]State
	RoleGuessed bool // no SYN or SYN-ACK said which side is the client
	Partial     bool // the opening handshake was not captured
	FirstFIN    Side
	SawFIN      bool
	End         End
	FirstSide   Side // the side that sent the first packet
	// CaptureLoss is set when the capture is known to have missed packets
	// of this connection (data acknowledged but never seen, or drops
	// reported by the kernel during a live capture): its states may be
	// incomplete.
	CaptureLoss bool

	timeWaitSince [2]time.Duration    // since Start (see Time)
	synTimes      [2][]time.Duration  // since Start, each side's SYN (or SYN-ACK) sends
	synBuf        [2][2]time.Duration // synTimes' first backing arrays
	synSegs       []synSeg            // every segment while only client SYNs came (Config.Park)
	reuseIndex    int                 // 1 + index of a reuse-in-time-wait awaiting the holder's answer

	analyzer reassembly.Analyzer // the data-path analysis
	rare     *connRare           // nil until needed (see connRare)

	prev, next *Conn   // the tracker's list by recent activity
	hash       uint64  // hashKey(&Key)
	lruAt      int64   // capture time (Unix ns) c was last moved in that list
	final      Outcome // how it ended, once finalized
	gen        uint32  // counts the reuses of this memory (Tracker.Release)

	dpIndex     [2][reassembly.NumFlags]uint8 // 1 + index in Anomalies of each side's data-path ids
	synKind     [2]capture.Flags
	reuseHolder Side
	finalized   bool // final is set
	closed      bool // both sides were seen closed (the linger timer is set)
	done        bool // handed on: the tracker has forgotten it
	expiring    bool // chosen by the current sweep
	released    bool // in the free list
	stepped     bool // its steps go to the tracker's OnStep listener (decided when it is made)
}

// connRare is what few connections need: zero-window stalls and the
// frames of retransmitted SYNs and FINs. Kept apart, allocated the first
// time a connection needs it (and dropped when the Conn is released), it
// lets a Conn fit the 896-byte size class instead of the 1,024-byte one.
type connRare struct {
	stalls    [2]stall
	synFrames [2]int64 // frame of each side's first SYN retransmission
	finFrames [2]int64 // frame of each side's first FIN retransmission
}

// rareData returns c's connRare, allocating it if c has none.
func (c *Conn) rareData() *connRare {
	if c.rare == nil {
		c.rare = new(connRare)
	}
	return c.rare
}

// retransmitted returns the frames of side's first SYN and first FIN
// retransmissions, 0 where there was none.
func (c *Conn) retransmitted(side Side) (frames struct{ syn, fin int64 }) {
	if c.rare != nil {
		frames.syn, frames.fin = c.rare.synFrames[side], c.rare.finFrames[side]
	}
	return frames
}

// stall returns side's zero-window stall, nil if c has no rare part (then
// no side advertised a zero window).
func (c *Conn) stall(side Side) *stall {
	if c.rare == nil {
		return nil
	}
	return &c.rare.stalls[side]
}

// set records a transition of side to state to, caused by segment s (nil
// for a timer) at time t.
func (c *Conn) set(side Side, to State, rule Rule, frame int64, t time.Time) {
	from := c.State[side]
	if from == to {
		return
	}
	c.State[side] = to
	off := t.Sub(c.Start)
	c.Transitions = append(c.Transitions, Transition{Side: side, From: from, To: to, Frame: frame, Offset: off, Rule: rule})
	if to == TimeWait {
		c.timeWaitSince[side] = off
	}
}

// Time returns the time d after the connection's start (a Transition's
// Offset): Conn keeps most of its times as offsets from Start, a third of
// the size of a time.Time.
func (c *Conn) Time(d time.Duration) time.Time { return c.Start.Add(d) }

// States returns the sequence of states side went through, its initial
// state first.
func (c *Conn) States(side Side) []State {
	out := []State{c.Initial[side]}
	for _, tr := range c.Transitions {
		if tr.Side == side {
			out = append(out, tr.To)
		}
	}
	return out
}

// Duration is the time from the first to the last packet.
func (c *Conn) Duration() time.Duration { return c.Last.Sub(c.Start) }

// bothClosed reports whether neither side can send anything but a
// retransmission or a new SYN.
func (c *Conn) bothClosed() bool {
	return c.State[Client].closedOrWaiting() && c.State[Server].closedOrWaiting() ||
		c.Reset.Seen
}
