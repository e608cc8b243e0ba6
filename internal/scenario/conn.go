package scenario

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Side is one end of a connection.
type Side int

// The two ends of a connection.
const (
	Client Side = iota
	Server
)

// Peer returns the other side. An invalid Side is returned unchanged.
func (s Side) Peer() Side {
	switch s {
	case Client:
		return Server
	case Server:
		return Client
	}
	return s
}

// String returns "client" or "server".
func (s Side) String() string {
	switch s {
	case Client:
		return "client"
	case Server:
		return "server"
	}
	return fmt.Sprintf("Side(%d)", int(s))
}

// MAC returns the MAC address of side s in Ethernet and Linux cooked headers:
// 02:00:00:00:00:01 for the client, 02:00:00:00:00:02 for the server.
func (s Side) MAC() net.HardwareAddr {
	if s == Server {
		return net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	}
	return net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
}

func (s Side) valid() bool { return s == Client || s == Server }

// NoWScale in Packet.WScale means "no window scale option".
const NoWScale = -1

// Packet describes one TCP segment. Send, Drop and Segment fill it in from
// the connection state; Write sends one exactly as given.
type Packet struct {
	From Side
	// Flags holds flag letters in any order: S SYN, A ACK, F FIN, R RST,
	// P PSH, U URG, E ECE, C CWR. Other characters are an error.
	Flags    string
	Seq, Ack uint32
	Payload  int    // payload length in bytes; byte at sequence n is byte(n)
	Window   uint16 // the raw (unscaled) window field
	MSS      uint16 // 0 = no MSS option
	// WScale is the window scale shift, or NoWScale (-1) for no option.
	// Note that 0 means an option with shift 0: a Packet literal passed to
	// Write must set WScale: NoWScale to omit it.
	WScale     int
	SACKPerm   bool
	SACK       [][2]uint32 // SACK blocks (left, right edge), at most 3 with Timestamps, 4 without
	TSVal      uint32
	TSEcr      uint32
	Timestamps bool      // include the timestamps option (TSVal, TSEcr)
	Frame      int       // 1-based frame number in the capture; 0 if not written
	Time       time.Time // capture clock when sent (as the file records it)
}

type synOptions struct {
	mss      uint16
	wscale   int
	sackPerm bool
}

type connConfig struct {
	isn    [2]uint32
	window [2]uint16
	syn    [2]synOptions
	err    error
}

// ConnOption configures a Conn.
type ConnOption func(*connConfig)

// ISN sets the initial sequence numbers (default client 1000, server 5000).
func ISN(client, server uint32) ConnOption {
	return func(c *connConfig) { c.isn = [2]uint32{client, server} }
}

// Window sets the window field of segments made by Send (default 65535 both).
func Window(client, server uint16) ConnOption {
	return func(c *connConfig) { c.window = [2]uint16{client, server} }
}

// SYNOptions sets the options side s puts on its SYN or SYN-ACK (default MSS
// 1460, window scale 7, SACK permitted). mss 0 omits the MSS option, wscale
// NoWScale omits the window scale option.
func SYNOptions(s Side, mss uint16, wscale int, sackPerm bool) ConnOption {
	return func(c *connConfig) {
		if !s.valid() {
			c.err = fmt.Errorf("SYNOptions: invalid side %v", s)
			return
		}
		c.syn[s] = synOptions{mss: mss, wscale: wscale, sackPerm: sackPerm}
	}
}

// Conn scripts one TCP connection. Create it with Builder.Conn.
type Conn struct {
	b    *Builder
	addr [2]netip.AddrPort
	v6   bool
	cfg  connConfig
	next [2]uint32
	bad  bool // construction failed: every method is a no-op
}

// Conn starts a connection between client and server, given as
// "10.0.0.1:40000" or "[2001:db8::1]:40000" (netip.ParseAddrPort syntax).
// IPv6 addresses produce IPv6 packets; both must be the same family. On
// error the returned Conn does nothing and the error is recorded in b.
func (b *Builder) Conn(client, server string, opts ...ConnOption) *Conn {
	c := &Conn{b: b}
	cfg := connConfig{isn: [2]uint32{1000, 5000}, window: [2]uint16{65535, 65535}}
	cfg.syn[Client] = synOptions{mss: 1460, wscale: 7, sackPerm: true}
	cfg.syn[Server] = cfg.syn[Client]
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	c.cfg = cfg
	var err error
	for i, s := range []string{client, server} {
		if c.addr[i], err = netip.ParseAddrPort(s); err != nil {
			b.failf("Conn: %v", err)
			c.bad = true
			return c
		}
	}
	if c.addr[0].Addr().Is4() != c.addr[1].Addr().Is4() {
		b.failf("Conn: %s and %s are different address families", client, server)
		c.bad = true
		return c
	}
	if cfg.err != nil {
		b.fail(cfg.err)
		c.bad = true
		return c
	}
	c.v6 = !c.addr[0].Addr().Is4()
	c.next = cfg.isn
	return c
}

// Segment returns the segment Send would send, without writing it or
// changing any state: a starting point for custom packets given to Write.
func (c *Conn) Segment(from Side, flags string, payload int) Packet {
	p, _ := c.segment(from, flags, payload)
	return p
}

func (c *Conn) segment(from Side, flags string, payload int) (Packet, bool) {
	if c.bad {
		return Packet{}, false
	}
	if !from.valid() {
		c.b.failf("invalid side %v", from)
		return Packet{}, false
	}
	t, err := parseFlags(flags)
	if err != nil {
		c.b.fail(err)
		return Packet{}, false
	}
	if payload < 0 {
		c.b.failf("negative payload length %d", payload)
		return Packet{}, false
	}
	p := Packet{
		From: from, Flags: flags, Seq: c.next[from], Payload: payload,
		Window: c.cfg.window[from], WScale: NoWScale, Time: c.b.stamp(),
	}
	if t.ACK {
		p.Ack = c.next[from.Peer()]
	}
	if t.SYN {
		o := c.cfg.syn[from]
		p.MSS, p.WScale, p.SACKPerm = o.mss, o.wscale, o.sackPerm
	}
	return p, true
}

func (c *Conn) advance(p Packet) {
	t, _ := parseFlags(p.Flags)
	n := uint32(p.Payload)
	if t.SYN {
		n++
	}
	if t.FIN {
		n++
	}
	c.next[p.From] += n
}

// Send builds the next segment from `from` and writes it. Seq is the
// sender's next sequence number; Ack is the peer's next sequence number when
// the A flag is present (0 otherwise); Window comes from the config; a SYN
// carries the SYN options (MSS 1460, WScale 7, SACKPerm by default). The
// sender's next sequence number advances by payload, +1 for SYN, +1 for FIN.
// It returns the packet with Frame and Time set.
func (c *Conn) Send(from Side, flags string, payload int) Packet {
	p, ok := c.segment(from, flags, payload)
	if !ok {
		return p
	}
	c.advance(p)
	return c.Write(p)
}

// Drop computes the segment exactly as Send would and advances the same
// state, but does not write it: a packet the capture missed. Frame is 0.
func (c *Conn) Drop(from Side, flags string, payload int) Packet {
	p, ok := c.segment(from, flags, payload)
	if ok {
		c.advance(p)
	}
	return p
}

// Write writes p exactly as given (retransmissions, out-of-window RSTs,
// custom seq/ack...) at the current time, without changing the sequence
// state. It returns p with Frame and Time set; Frame is 0 on error.
func (c *Conn) Write(p Packet) Packet {
	p.Frame = 0
	p.Time = c.b.stamp()
	if c.bad {
		return p
	}
	if !p.From.valid() {
		c.b.failf("invalid side %v", p.From)
		return p
	}
	data, err := c.b.encode(c, p)
	if err != nil {
		c.b.fail(err)
		return p
	}
	p.Frame, p.Time = c.b.writeFrame(data)
	return p
}

// Next returns the next sequence number side s will send.
func (c *Conn) Next(s Side) uint32 {
	if c.bad || !s.valid() {
		return 0
	}
	return c.next[s]
}

// SetNext overrides the next sequence number of side s (e.g. to start a new
// incarnation of the connection with a new ISN).
func (c *Conn) SetNext(s Side, seq uint32) {
	if c.bad {
		return
	}
	if !s.valid() {
		c.b.failf("invalid side %v", s)
		return
	}
	c.next[s] = seq
}

// Handshake is Send(Client, "S", 0), Send(Server, "SA", 0),
// Send(Client, "A", 0), returning the three packets.
func (c *Conn) Handshake() [3]Packet {
	return [3]Packet{
		c.Send(Client, "S", 0),
		c.Send(Server, "SA", 0),
		c.Send(Client, "A", 0),
	}
}
