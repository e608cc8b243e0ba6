package capture

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Link types with no gopacket decoder of their own, mapped here.
const (
	linkTypeRawOpenBSD = 12  // DLT_RAW on OpenBSD: bare IPv4 or IPv6
	linkTypeRawBSD     = 14  // DLT_RAW on BSD/OS
	linkTypeIPv4       = 228 // LINKTYPE_IPV4: bare IPv4
	linkTypeIPv6       = 229 // LINKTYPE_IPV6: bare IPv6
	linkTypeIPoIB      = 242 // LINKTYPE_IPOIB: 20-byte address, type, reserved, then IP
)

// maxLayers bounds the decode loop so crafted tunnels-in-tunnels end.
const maxLayers = 32

// Decoder decodes link-layer frames into Segments. It follows tunnels that
// gopacket decodes (GRE, VXLAN, Geneve, IP-in-IP) and MPLS and PPPoE, which
// it decodes itself, down to the innermost TCP segment.
//
// It drives gopacket's DecodingLayers one at a time instead of through a
// DecodingLayerParser, because it must look at every layer on the way down:
// each 802.1Q tag's VLAN id, and the IP length of the innermost IP header.
type Decoder struct {
	layers gopacket.DecodingLayerContainer

	eth    layers.Ethernet
	dot1q  layers.Dot1Q
	sll    layers.LinuxSLL
	sll2   layers.LinuxSLL2
	loop   layers.Loopback
	ip4    layers.IPv4
	ip6    layers.IPv6
	ext6   layers.IPv6ExtensionSkipper
	frag6  layers.IPv6Fragment
	udp    layers.UDP
	gre    layers.GRE
	vxlan  layers.VXLAN
	geneve layers.Geneve
	tcp    layers.TCP

	truncated bool
	// Err is why the last packet counted as ReasonMalformed was malformed.
	Err error
}

// NewDecoder returns a Decoder ready for use.
func NewDecoder() *Decoder {
	d := &Decoder{}
	var c gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
	for _, l := range []gopacket.DecodingLayer{
		&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.ip4, &d.ip6,
		&d.ext6, &d.frag6, &d.udp, &d.gre, &d.vxlan, &d.geneve, &d.tcp,
	} {
		c = c.Put(l)
	}
	d.layers = c
	return d
}

// SetTruncated implements gopacket.DecodeFeedback.
func (d *Decoder) SetTruncated() { d.truncated = true }

// Errors for malformed packets that gopacket does not report itself. They
// are values, so a malformed packet costs no allocation here.
var (
	errRawVersion    = errors.New("raw IP packet with an IP version other than 4 or 6")
	errShort         = errors.New("packet too short for its link-layer header")
	errTCPLength     = errors.New("TCP header longer than the IP payload")
	errTooManyLayers = errors.New("too many nested encapsulations")
)

// Decode decodes one frame of the given link type into seg and says whether
// it is a TCP segment (ReasonNone) or why not. seg.Frame, seg.Time and
// seg.Interface are left for the caller to set.
func (d *Decoder) Decode(data []byte, link layers.LinkType, seg *Segment) Reason {
	if d.fast(data, link, seg) {
		return ReasonNone
	}
	return d.general(data, link, seg)
}

// general is Decode for every frame, layer by layer through gopacket.
func (d *Decoder) general(data []byte, link layers.LinkType, seg *Segment) Reason {
	d.truncated = false
	typ, data, reason := d.first(data, link)
	if reason != ReasonNone {
		return reason
	}
	seg.VLAN = [2]uint16{}
	nvlan := 0
	sawIP := false
	var src, dst netip.Addr
	ipPayload := 0 // bytes after the innermost IP header, per the IP length

	for range maxLayers {
		switch typ {
		case layers.LayerTypeTCP:
			return d.tcpSegment(data, src, dst, ipPayload, seg)
		case layers.LayerTypeMPLS:
			typ, data, reason = mpls(data)
			if reason != ReasonNone {
				d.Err = errShort
				return reason
			}
			continue
		case layers.LayerTypePPPoE:
			typ, data, reason = pppoe(data)
			if reason != ReasonNone {
				if reason == ReasonMalformed {
					d.Err = errShort
				}
				return reason
			}
			continue
		case gopacket.LayerTypeFragment:
			return ReasonFragment
		}
		dl, ok := d.layers.Decoder(typ)
		if !ok {
			if sawIP {
				return ReasonNotTCP
			}
			return ReasonNotIP
		}
		if err := dl.DecodeFromBytes(data, d); err != nil {
			d.Err = err
			return ReasonMalformed
		}
		switch typ {
		case layers.LayerTypeDot1Q:
			if nvlan < len(seg.VLAN) {
				seg.VLAN[nvlan] = d.dot1q.VLANIdentifier
				nvlan++
			}
		case layers.LayerTypeIPv4:
			ip := &d.ip4
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				return ReasonFragment
			}
			sawIP = true
			src, dst = netip.AddrFrom4([4]byte(ip.SrcIP)), netip.AddrFrom4([4]byte(ip.DstIP))
			total := int(ip.Length)
			if total == 0 { // TSO: the length is the frame's
				total = len(data)
			}
			ipPayload = total - int(ip.IHL)*4
		case layers.LayerTypeIPv6:
			ip := &d.ip6
			sawIP = true
			src, dst = netip.AddrFrom16([16]byte(ip.SrcIP)), netip.AddrFrom16([16]byte(ip.DstIP))
			ipPayload = int(ip.Length)
			if ip.HopByHop != nil {
				if ip.Length == 0 {
					ipPayload = jumboLength(ip.HopByHop)
				}
				ipPayload -= ip.HopByHop.ActualLength
			}
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination:
			ipPayload -= len(d.ext6.Contents)
		case layers.LayerTypeIPv6Fragment:
			ipPayload -= len(d.frag6.Contents)
		}
		typ, data = dl.NextLayerType(), dl.LayerPayload()
	}
	d.Err = errTooManyLayers
	return ReasonMalformed
}

// first returns the first layer to decode for a link type.
func (d *Decoder) first(data []byte, link layers.LinkType) (gopacket.LayerType, []byte, Reason) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, data, ReasonNone
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, data, ReasonNone
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, data, ReasonNone
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, data, ReasonNone
	case layers.LinkTypeRaw, linkTypeRawOpenBSD, linkTypeRawBSD, linkTypeIPv4, linkTypeIPv6:
		return d.rawIP(data)
	case linkTypeIPoIB:
		return d.ipoib(data)
	}
	return 0, nil, ReasonLinkType
}

// ipoib decodes LINKTYPE_IPOIB: a 20-byte pseudo destination address, the
// type and a reserved word (RFC 4391 section 6). Some writers put 20 more
// bytes in front (the source address), as in tcpdump's ipoib.pcap, so the
// type is looked for at both places.
func (d *Decoder) ipoib(data []byte) (gopacket.LayerType, []byte, Reason) {
	for _, at := range [...]int{20, 40} {
		if len(data) < at+4 {
			break
		}
		switch t := layers.EthernetType(binary.BigEndian.Uint16(data[at:])); t {
		case layers.EthernetTypeIPv4, layers.EthernetTypeIPv6, layers.EthernetTypeARP:
			return t.LayerType(), data[at+4:], ReasonNone
		}
	}
	if len(data) < 24 {
		d.Err = errShort
		return 0, nil, ReasonMalformed
	}
	return 0, nil, ReasonNotIP
}

func (d *Decoder) rawIP(data []byte) (gopacket.LayerType, []byte, Reason) {
	if len(data) == 0 {
		d.Err = errShort
		return 0, nil, ReasonMalformed
	}
	switch data[0] >> 4 {
	case 4:
		return layers.LayerTypeIPv4, data, ReasonNone
	case 6:
		return layers.LayerTypeIPv6, data, ReasonNone
	}
	d.Err = errRawVersion
	return 0, nil, ReasonMalformed
}

// mpls skips an MPLS label stack and guesses the payload from its first
// nibble, as Wireshark does when no pseudowire is configured.
func mpls(data []byte) (gopacket.LayerType, []byte, Reason) {
	for {
		if len(data) < 4 {
			return 0, nil, ReasonMalformed
		}
		bottom := data[2]&1 != 0
		data = data[4:]
		if bottom {
			break
		}
	}
	if len(data) == 0 {
		return 0, nil, ReasonMalformed
	}
	switch data[0] >> 4 {
	case 4:
		return layers.LayerTypeIPv4, data, ReasonNone
	case 6:
		return layers.LayerTypeIPv6, data, ReasonNone
	case 0: // pseudowire control word, then Ethernet
		if len(data) < 4 {
			return 0, nil, ReasonMalformed
		}
		return layers.LayerTypeEthernet, data[4:], ReasonNone
	}
	return 0, nil, ReasonNotIP
}

// pppoe decodes a PPPoE session header and the PPP protocol field.
func pppoe(data []byte) (gopacket.LayerType, []byte, Reason) {
	const header = 6 + 2
	if len(data) < header {
		return 0, nil, ReasonMalformed
	}
	switch binary.BigEndian.Uint16(data[6:8]) {
	case 0x0021:
		return layers.LayerTypeIPv4, data[header:], ReasonNone
	case 0x0057:
		return layers.LayerTypeIPv6, data[header:], ReasonNone
	}
	return 0, nil, ReasonNotIP
}

// jumboLength returns the IPv6 payload length from a Jumbo Payload option
// (RFC 2675), or 0.
func jumboLength(hbh *layers.IPv6HopByHop) int {
	for _, o := range hbh.Options {
		if o.OptionType == 0xc2 && len(o.OptionData) == 4 {
			return int(binary.BigEndian.Uint32(o.OptionData))
		}
	}
	return 0
}
