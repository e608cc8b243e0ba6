package reassembly_test

import (
	"slices"
	"time"

	"github.com/tcplens/tcplens/internal/scenario"
	r "github.com/tcplens/tcplens/reassembly"
)

// flagScenario scripts one connection and says which frames Wireshark's
// definitions flag (frames not listed have no flag). Connections start with
// ISNs 1000 (client) and 5000 (server), window 65535 and window scale 7.
type flagScenario struct {
	name     string
	opts     []scenario.ConnOption
	script   func(b *scenario.Builder, c *scenario.Conn)
	want     map[int64]r.Flags
	restarts int // Analyzer.Restarts after the last segment
}

// flagScenarios are all the scenarios, each written from Wireshark's
// definitions and checked against tshark by TestClassifyMatchesTshark.
var flagScenarios = slices.Concat(sequenceScenarios, windowScenarios)

const (
	cl = scenario.Client
	sv = scenario.Server
)

// handshake opens c with the given round-trip time between SYN and ACK.
func handshake(b *scenario.Builder, c *scenario.Conn, rtt time.Duration) {
	c.Send(cl, "S", 0)
	b.Advance(rtt / 2)
	c.Send(sv, "SA", 0)
	b.Advance(rtt / 2)
	c.Send(cl, "A", 0)
	b.Advance(time.Millisecond)
}

// ack writes an empty ACK from `from` acknowledging ackNo, with window win.
func ack(c *scenario.Conn, from scenario.Side, ackNo uint32, win uint16) {
	p := c.Segment(from, "A", 0)
	p.Ack, p.Window = ackNo, win
	c.Write(p)
}

// sequenceScenarios cover the sequence-space findings.
var sequenceScenarios = []flagScenario{{
	// The same data again, long after the handshake round-trip time.
	name: "retransmission",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		p := c.Send(cl, "PA", 100)
		b.Advance(200 * time.Millisecond)
		c.Write(p)
	},
	want: map[int64]r.Flags{5: r.Retransmission},
}, {
	// Segment 1101 is lost after the capture point; two duplicate ACKs
	// ask for it and it comes again within 20 ms of the last one.
	name:   "fast-retransmission",
	script: dupAckRetransmission(time.Millisecond),
	want:   map[int64]r.Flags{9: r.DuplicateAck, 10: r.DuplicateAck, 11: r.Retransmission | r.FastRetransmission},
}, {
	// The same 25 ms after the last duplicate ACK: a plain retransmission.
	name:   "slow-retransmission-after-dup-acks",
	script: dupAckRetransmission(25 * time.Millisecond),
	want:   map[int64]r.Flags{9: r.DuplicateAck, 10: r.DuplicateAck, 11: r.Retransmission},
}, {
	// Data the receiver has acknowledged, sent again.
	name: "spurious-retransmission",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		p := c.Send(cl, "PA", 100)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "A", 0)
		b.Advance(300 * time.Millisecond)
		c.Write(p)
	},
	want: map[int64]r.Flags{6: r.Retransmission | r.SpuriousRetransmission},
}, {
	// Acknowledged data sent again within the round-trip time: spurious
	// takes precedence over out-of-order.
	name: "spurious-before-out-of-order",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		p := c.Send(cl, "PA", 100)
		c.Send(cl, "PA", 100)
		b.Advance(time.Millisecond)
		c.Send(sv, "A", 0)
		c.Write(p)
	},
	want: map[int64]r.Flags{7: r.Retransmission | r.SpuriousRetransmission},
}, {
	// The second segment overtakes the first: the first arrives within the
	// handshake round-trip time (20 ms) of the second.
	name: "out-of-order",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		first := c.Drop(cl, "PA", 100)
		c.Send(cl, "PA", 100)
		b.Advance(10 * time.Millisecond) // more than 3 ms, less than the RTT
		c.Write(first)
		b.Advance(5 * time.Millisecond)
		c.Send(sv, "A", 0) // acknowledges both: nothing unseen
	},
	want: map[int64]r.Flags{4: r.LostSegment, 5: r.OutOfOrder},
}, {
	// The same, but later than the handshake round-trip time: Wireshark
	// calls that a retransmission.
	name: "late-out-of-order-is-retransmission",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		first := c.Drop(cl, "PA", 100)
		c.Send(cl, "PA", 100)
		b.Advance(30 * time.Millisecond)
		c.Write(first)
	},
	want: map[int64]r.Flags{4: r.LostSegment, 5: r.Retransmission},
}, {
	// Without a handshake the out-of-order threshold is 3 ms.
	name: "out-of-order-threshold-without-handshake",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		c.Send(cl, "PA", 100)
		for _, gap := range []time.Duration{2 * time.Millisecond, 4 * time.Millisecond} {
			b.Advance(time.Millisecond)
			first := c.Drop(cl, "PA", 100)
			c.Send(cl, "PA", 100)
			b.Advance(gap)
			c.Write(first)
		}
	},
	want: map[int64]r.Flags{2: r.LostSegment, 3: r.OutOfOrder, 4: r.LostSegment, 5: r.Retransmission},
}, {
	// A segment the capture missed, then the ACK that covers it.
	name: "lost-segment",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Drop(cl, "PA", 100)
		c.Send(cl, "PA", 100)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "A", 0)
	},
	want: map[int64]r.Flags{4: r.LostSegment, 5: r.AckedUnseen},
}, {
	name: "acked-unseen",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Drop(cl, "PA", 100)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "A", 0)
	},
	want: map[int64]r.Flags{4: r.AckedUnseen},
}, {
	// While the peer sends nothing, a gap is flagged once: the repeated
	// ACK is only a duplicate.
	name: "acked-unseen-once",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Drop(cl, "PA", 100)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "A", 0)
		c.Send(sv, "A", 0)
	},
	want: map[int64]r.Flags{4: r.AckedUnseen, 5: r.DuplicateAck},
}, {
	// Once the peer has sent beyond the mark (here an ACK past the gap),
	// the next ACK beyond it is flagged again.
	name: "acked-unseen-again-after-peer-moves",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Drop(cl, "PA", 100)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "A", 0)
		c.Send(cl, "A", 0)
		c.Send(sv, "A", 0)
	},
	want: map[int64]r.Flags{4: r.AckedUnseen, 5: r.LostSegment, 6: r.AckedUnseen | r.DuplicateAck},
}, {
	// The receiver repeats its ACK for the hole.
	name: "duplicate-ack",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Send(cl, "PA", 100)
		c.Drop(cl, "PA", 100)
		c.Send(cl, "PA", 100)
		b.Advance(10 * time.Millisecond)
		ack(c, sv, 1101, 65535)
		ack(c, sv, 1101, 65535)
	},
	want: map[int64]r.Flags{5: r.LostSegment, 7: r.DuplicateAck},
}, {
	// The round-trip time counts from the last SYN (20 ms), so a segment
	// 100 ms late is a retransmission, not out of order.
	name: "syn-retransmission",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		p := c.Send(cl, "S", 0)
		b.Advance(time.Second)
		c.Write(p)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "SA", 0)
		b.Advance(10 * time.Millisecond)
		c.Send(cl, "A", 0)
		first := c.Drop(cl, "PA", 100)
		c.Send(cl, "PA", 100)
		b.Advance(100 * time.Millisecond)
		c.Write(first)
	},
	want: map[int64]r.Flags{2: r.Retransmission, 5: r.LostSegment, 6: r.Retransmission},
}, {
	// A FIN sent again 1 ms later, within the round-trip time: it ends
	// where the first one did, so it is a retransmission, not out of order.
	name: "fin-retransmission",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		p := c.Send(cl, "FA", 0)
		b.Advance(time.Millisecond)
		c.Write(p)
	},
	want: map[int64]r.Flags{5: r.Retransmission},
}, {
	// A SYN with a new ISN starts the analysis again (tcp.analysis.reused_ports);
	// that SYN sent again is a retransmission in the new stream.
	name: "port-reuse",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Send(cl, "PA", 100)
		b.Advance(time.Second)
		c.SetNext(cl, 900000)
		c.SetNext(sv, 700000)
		syn := c.Send(cl, "S", 0)
		c.Send(sv, "SA", 0)
		c.Send(cl, "A", 0)
		b.Advance(time.Second)
		c.Write(syn)
	},
	want:     map[int64]r.Flags{8: r.Retransmission},
	restarts: 1,
}, {
	// An RST beyond a gap is not "previous segment not captured".
	name: "rst-after-gap",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Drop(cl, "PA", 100)
		c.Send(cl, "R", 0)
	},
	want: map[int64]r.Flags{},
}, {
	// A capture clock that goes backwards makes the time since the highest
	// segment huge (Wireshark's times are unsigned): a retransmission.
	name: "clock-backwards",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		p := c.Send(cl, "PA", 100)
		b.Advance(time.Millisecond)
		c.Send(cl, "PA", 100)
		b.Advance(-10 * time.Millisecond)
		c.Write(p)
	},
	want: map[int64]r.Flags{6: r.Retransmission},
}, {
	// Wireshark reads a next sequence number of 0 as "unknown": data that
	// ends exactly at 2^32, sent again, is not flagged.
	name: "next-seq-zero",
	opts: []scenario.ConnOption{scenario.ISN(0xffffff9b, 5000)},
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		p := c.Send(cl, "PA", 100)
		b.Advance(300 * time.Millisecond)
		c.Write(p)
	},
	want: map[int64]r.Flags{},
}, {
	// A SYN sent again after an RST that moved its sender's sequence number
	// (RFC 9293 lets an RST carry the ACK number it answers): Wireshark
	// restores the next sequence number, so the data after the handshake
	// is new.
	name: "syn-after-rst",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		syn := c.Send(cl, "S", 0)
		b.Advance(10 * time.Millisecond)
		bogus := c.Segment(sv, "SA", 0)
		bogus.Ack = 77777
		c.Write(bogus)
		rst := c.Segment(cl, "R", 0)
		rst.Seq = 77777
		c.Write(rst)
		b.Advance(time.Second)
		c.Write(syn)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "SA", 0)
		c.Send(cl, "A", 0)
		c.Send(cl, "PA", 100)
	},
	// The bogus SYN-ACK acknowledges data never sent: ACKed unseen.
	want: map[int64]r.Flags{2: r.AckedUnseen, 4: r.Retransmission, 5: r.Retransmission},
}, {
	// After an ACKed-unseen gap the duplicate ACKs of its sender count
	// from one again, and two of them make a fast retransmission.
	name: "fast-retransmission-after-acked-unseen",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Drop(cl, "PA", 100)
		c.Send(sv, "A", 0)
		lost := c.Drop(sv, "PA", 100)
		c.Send(sv, "PA", 100)
		b.Advance(time.Millisecond)
		for range 3 {
			ack(c, cl, 5001, 65535)
		}
		b.Advance(time.Millisecond)
		c.Write(lost)
	},
	want: map[int64]r.Flags{
		4: r.AckedUnseen, 5: r.LostSegment, 6: r.LostSegment,
		7: r.DuplicateAck, 8: r.DuplicateAck,
		// The client has sent since the first gap: the ACK of 1101 counts again.
		9: r.Retransmission | r.FastRetransmission | r.AckedUnseen,
	},
}, {
	// More than one byte starting one below the next sequence number is
	// new data (the byte below may have been a probe), not a retransmission.
	name: "one-byte-overlap-is-new-data",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Send(cl, "PA", 100)
		b.Advance(100 * time.Millisecond)
		p := c.Segment(cl, "PA", 100)
		p.Seq--
		c.Write(p)
	},
	want: map[int64]r.Flags{},
}}

// dupAckRetransmission sends four segments, the receiver asks for the
// second with an ACK and two duplicates, and the sender sends it again
// `after` the last duplicate.
func dupAckRetransmission(after time.Duration) func(*scenario.Builder, *scenario.Conn) {
	return func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		var lost scenario.Packet
		for i := range 4 {
			p := c.Send(cl, "PA", 100) // frames 4-7
			if i == 1 {
				lost = p
			}
			b.Advance(100 * time.Microsecond)
		}
		b.Advance(5 * time.Millisecond)
		for range 3 {
			ack(c, sv, 1101, 65535) // frames 8-10: the 2nd and 3rd are duplicates
			b.Advance(200 * time.Microsecond)
		}
		b.Advance(after)
		c.Write(lost)
	}
}
