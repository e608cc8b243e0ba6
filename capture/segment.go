package capture

import (
	"net/netip"
	"time"
)

// Flags is the set of TCP control bits of a segment.
type Flags uint16

// The TCP control bits, in header order.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	// AE is Accurate ECN's bit (RFC 9768; the ECN nonce's NS before),
	// the lowest bit of the header byte before the other flags.
	AE
)

// Has reports whether all bits of f2 are set in f.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// String returns the flags as tcpdump prints them, for example "S." for a
// SYN-ACK and "F." for FIN-ACK; "none" when no bit is set.
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	return string(f.AppendTo(make([]byte, 0, 8)))
}

// AppendTo appends the tcpdump-style spelling of f to b.
func (f Flags) AppendTo(b []byte) []byte {
	for _, c := range [...]struct {
		bit Flags
		ch  byte
	}{{FIN, 'F'}, {SYN, 'S'}, {RST, 'R'}, {PSH, 'P'}, {ACK, '.'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}, {AE, 'e'}} {
		if f&c.bit != 0 {
			b = append(b, c.ch)
		}
	}
	return b
}

// NoWindowScale is Segment.WindowScale when the option is absent.
const NoWindowScale = -1

// MaxSACKBlocks is how many SACK blocks a Segment keeps; a TCP header has
// room for at most four.
const MaxSACKBlocks = 4

// Segment is one decoded TCP segment. The decoder fills it in place; it holds
// no reference to the packet buffer. Its fields are ordered to make 192
// bytes, three cache lines: a Sharded hands millions of them from one core
// to another.
type Segment struct {
	Frame     int64     // 1-based frame number in its file
	Time      time.Time // capture timestamp
	Interface int       // pcapng interface index; 0 for pcap

	Src, Dst netip.AddrPort
	VLAN     [2]uint16 // 802.1Q ids, outermost first; 0 means absent

	Seq, Ack uint32
	Flags    Flags
	Window   uint16 // as on the wire, before scaling

	MSS         uint16 // 0 when absent
	WindowScale int8   // NoWindowScale when absent
	SACKPerm    bool
	HasTS       bool
	TSVal       uint32
	TSEcr       uint32
	NumSACK     int
	SACK        [MaxSACKBlocks][2]uint32

	// PayloadLen is the TCP payload length from the IP length, so it is
	// right even when the capture kept only the headers. CapturedPayload is
	// how many of those bytes are in the capture.
	PayloadLen      int
	CapturedPayload int
}

// SeqLen is how much sequence space the segment occupies: its payload plus
// one for SYN and one for FIN.
func (s *Segment) SeqLen() uint32 {
	n := uint32(s.PayloadLen)
	if s.Flags&SYN != 0 {
		n++
	}
	if s.Flags&FIN != 0 {
		n++
	}
	return n
}
