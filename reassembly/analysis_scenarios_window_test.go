package reassembly_test

import (
	"time"

	"github.com/tcplens/tcplens/internal/scenario"
	r "github.com/tcplens/tcplens/reassembly"
)

// windowScenarios cover the window and keep-alive findings.
var windowScenarios = []flagScenario{{
	// The receiver closes its window, the sender probes it twice with one
	// byte, the receiver answers each probe, then opens the window again.
	name: "zero-window",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Send(cl, "PA", 100)
		b.Advance(10 * time.Millisecond)
		ack(c, sv, 1101, 0)
		b.Advance(200 * time.Millisecond)
		for range 2 {
			c.Write(c.Segment(cl, "PA", 1)) // a probe does not move the sequence
			b.Advance(10 * time.Millisecond)
			ack(c, sv, 1101, 0)
			b.Advance(400 * time.Millisecond)
		}
		ack(c, sv, 1101, 65535)
		c.Send(cl, "PA", 100)
	},
	want: map[int64]r.Flags{
		5:  r.ZeroWindow,
		6:  r.ZeroWindowProbe,
		7:  r.ZeroWindow | r.ZeroWindowProbeAck,
		8:  r.ZeroWindowProbe,
		9:  r.ZeroWindow | r.ZeroWindowProbeAck,
		10: r.WindowUpdate,
	},
}, {
	// The server's window is 8 << 7 = 1024 bytes once it has sent an ACK;
	// its SYN-ACK's window is never scaled.
	name:   "window-full",
	opts:   []scenario.ConnOption{scenario.Window(65535, 8)},
	script: windowFullScript,
	want:   map[int64]r.Flags{6: r.WindowFull},
}, {
	// Until the server sends an ACK without SYN, Wireshark does not scale
	// its window (the SYN-ACK's), even with scaling negotiated.
	name: "window-full-before-first-ack",
	opts: []scenario.ConnOption{scenario.Window(65535, 100)},
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Send(cl, "PA", 100)
	},
	want: map[int64]r.Flags{4: r.WindowFull},
}, {
	// Neither side scales: the window is the field itself.
	name: "window-full-no-scaling",
	opts: []scenario.ConnOption{scenario.Window(65535, 1000),
		scenario.SYNOptions(cl, 1460, scenario.NoWScale, true)},
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Send(cl, "PA", 400)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "A", 0)
		c.Send(cl, "PA", 1000)
	},
	want: map[int64]r.Flags{6: r.WindowFull},
}, {
	// Without the SYNs the scaling is unknown: never window full.
	name: "window-full-scale-unknown",
	opts: []scenario.ConnOption{scenario.Window(65535, 8)},
	script: func(b *scenario.Builder, c *scenario.Conn) {
		c.SetNext(cl, 1001)
		c.SetNext(sv, 5001)
		c.Send(sv, "A", 0)
		c.Send(cl, "PA", 8)
	},
	want: map[int64]r.Flags{},
}, {
	// Idle keep-alives with zero and one byte, each answered.
	name: "keep-alive",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Send(cl, "PA", 100)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "A", 0)
		for _, n := range []int{0, 1} {
			b.Advance(45 * time.Second)
			p := c.Segment(cl, "A", n)
			p.Seq--
			c.Write(p)
			b.Advance(10 * time.Millisecond)
			c.Send(sv, "A", 0)
		}
	},
	want: map[int64]r.Flags{6: r.KeepAlive, 7: r.KeepAliveAck, 8: r.KeepAlive, 9: r.KeepAliveAck},
}, {
	// A window closing to zero with the same ACK is a zero window, not a
	// window update.
	name: "window-closes",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		c.Send(cl, "PA", 100)
		b.Advance(10 * time.Millisecond)
		c.Send(sv, "A", 0)
		ack(c, sv, 1101, 0)
	},
	want: map[int64]r.Flags{6: r.ZeroWindow},
}, {
	name: "window-update",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		handshake(b, c, 20*time.Millisecond)
		ack(c, sv, 1001, 30000)
	},
	want: map[int64]r.Flags{4: r.WindowUpdate},
}, {
	// Wireshark takes a window scale option from any segment, and a known
	// scale (here 2) enables the window-full test.
	name: "window-scale-option-outside-syn",
	script: func(b *scenario.Builder, c *scenario.Conn) {
		c.SetNext(cl, 1001)
		c.SetNext(sv, 5001)
		p := c.Segment(sv, "A", 0)
		p.Window, p.WScale = 8, 2
		c.Write(p)
		c.Send(cl, "PA", 32)
	},
	want: map[int64]r.Flags{2: r.WindowFull},
}}

func windowFullScript(b *scenario.Builder, c *scenario.Conn) {
	handshake(b, c, 20*time.Millisecond)
	c.Send(cl, "PA", 512) // short of the edge
	b.Advance(10 * time.Millisecond)
	c.Send(sv, "A", 0)
	c.Send(cl, "PA", 1024)
}
