package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// fast decodes the common case straight from the bytes: untagged
// Ethernet carrying an IPv4 header without options or an IPv6 header
// without extension headers, carrying TCP whose header was captured
// whole. It gives exactly what the general path gives for such frames, and
// reports false, having changed nothing that matters, for every other
// frame: those take the general path, which follows gopacket's decoders
// (and their error messages) layer by layer. A test compares both paths on
// every frame of every capture.
func (d *Decoder) fast(data []byte, link layers.LinkType, seg *Segment) bool {
	if link != layers.LinkTypeEthernet || len(data) < 14 {
		return false
	}
	var src, dst netip.Addr
	var tcp []byte
	ipPayload := 0
	switch binary.BigEndian.Uint16(data[12:14]) {
	case 0x0800:
		ip := data[14:]
		if len(ip) < 20 || ip[0]&0x0f != 5 || ip[9] != 6 {
			return false
		}
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		if total < 20 {
			return false // 0 (TSO) and the malformed
		}
		if binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 { // MF or a fragment offset
			return false
		}
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		// A snap length may have cut the packet: the payload is what is
		// there, its length the IP header's.
		tcp, ipPayload = ip[20:min(total, len(ip))], total-20
	case 0x86dd:
		ip := data[14:]
		if len(ip) < 40 || ip[6] != 6 {
			return false
		}
		ipPayload = int(binary.BigEndian.Uint16(ip[4:6]))
		if ipPayload == 0 {
			return false
		}
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		tcp = ip[40:]
		if len(tcp) > ipPayload {
			tcp = tcp[:ipPayload]
		}
	default:
		return false
	}
	if len(tcp) < 20 {
		return false
	}
	hdr := int(tcp[12]>>4) * 4
	if hdr < 20 || hdr > len(tcp) || ipPayload < hdr {
		return false
	}
	// The options first: an MPTCP option sends the frame to the general
	// path, whose decoder checks each subtype's length (and sets every
	// field set here again).
	seg.clearOptions()
	opts := tcp[20:hdr]
options:
	for len(opts) > 0 {
		kind := opts[0]
		switch kind {
		case 0:
			break options
		case 1:
			opts = opts[1:]
			continue
		case 30:
			return false
		}
		if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
			break // gopacket drops the option and stops there
		}
		seg.setOption(kind, opts[2:opts[1]])
		opts = opts[opts[1]:]
	}
	seg.VLAN = [2]uint16{}
	seg.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(tcp[0:2]))
	seg.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(tcp[2:4]))
	seg.Seq, seg.Ack = binary.BigEndian.Uint32(tcp[4:8]), binary.BigEndian.Uint32(tcp[8:12])
	seg.Flags = Flags(tcp[12]&1)<<8 | Flags(tcp[13]) // the header's bit order is Flags' order
	seg.Window = binary.BigEndian.Uint16(tcp[14:16])
	seg.PayloadLen = ipPayload - hdr
	seg.CapturedPayload = min(len(tcp)-hdr, seg.PayloadLen)
	return true
}
