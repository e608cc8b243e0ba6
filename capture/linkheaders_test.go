package capture_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcplens/tcplens/capture"
)

// TestDecodeLinkHeaders decodes frames of link types and IP header shapes
// the scenario builder does not write: other loopback families and byte
// orders, the bare-IP link types, IPoIB, IPv4 options, TSO lengths and IPv6
// extension headers.
func TestDecodeLinkHeaders(t *testing.T) {
	v4 := func(t testing.TB) []byte { return serialize(t, innerTCP(t, false)...) }
	v6 := func(t testing.TB) []byte { return serialize(t, innerTCP(t, true)...) }
	le := func(family uint32) []byte { return binary.LittleEndian.AppendUint32(nil, family) }
	be := func(family uint32) []byte { return binary.BigEndian.AppendUint32(nil, family) }
	join := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	ipoib := func(skip int, et layers.EthernetType, ip []byte) []byte {
		h := make([]byte, skip+4)
		binary.BigEndian.PutUint16(h[skip:], uint16(et))
		return append(h, ip...)
	}
	// ipv6Ext is IPv6 with hop-by-hop, destination options and routing
	// headers (8 bytes each, PadN-filled) in front of the TCP segment.
	ipv6Ext := func(t testing.TB) []byte {
		ip := ipv6(inner6Src, inner6Dst, layers.IPProtocolTCP)
		tcp := serialize(t, tcpLayers(t, ip, 40001, 8443, 33)...)
		ext := []byte{
			byte(layers.IPProtocolIPv6Destination), 0, 1, 4, 0, 0, 0, 0, // hop-by-hop
			byte(layers.IPProtocolIPv6Routing), 0, 1, 4, 0, 0, 0, 0, // destination options
			byte(layers.IPProtocolTCP), 0, 4, 0, 0, 0, 0, 0, // routing, no segments left
		}
		outer := ipv6(inner6Src, inner6Dst, layers.IPProtocolIPv6HopByHop)
		return serialize(t, outer, gopacket.Payload(append(ext, tcp...)))
	}
	// ipv4Options is IPv4 with a 4-byte Router Alert option (IHL 6).
	ipv4Options := func(t testing.TB) []byte {
		ip := ipv4(innerSrc, innerDst, layers.IPProtocolTCP)
		ip.IHL = 6
		ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}
		return serialize(t, cat(ip, tcpLayers(t, ip, 40001, 8443, 33))...)
	}
	// tso is IPv4 with a total length of 0, as captured before TCP
	// segmentation offload filled it in.
	tso := func(t testing.TB) []byte {
		b := v4(t)
		b[2], b[3] = 0, 0
		return b
	}

	tests := []struct {
		name  string
		link  layers.LinkType
		frame func(t testing.TB) []byte
		v6    bool
	}{
		{"null-ipv4", layers.LinkTypeNull, func(t testing.TB) []byte { return join(le(2), v4(t)) }, false},
		{"null-ipv6-bsd", layers.LinkTypeNull, func(t testing.TB) []byte { return join(le(24), v6(t)) }, true},
		{"null-ipv6-freebsd", layers.LinkTypeNull, func(t testing.TB) []byte { return join(le(28), v6(t)) }, true},
		{"null-ipv6-darwin", layers.LinkTypeNull, func(t testing.TB) []byte { return join(le(30), v6(t)) }, true},
		{"null-big-endian", layers.LinkTypeNull, func(t testing.TB) []byte { return join(be(2), v4(t)) }, false},
		{"loop-ipv4", layers.LinkTypeLoop, func(t testing.TB) []byte { return join(be(2), v4(t)) }, false},
		{"loop-ipv6", layers.LinkTypeLoop, func(t testing.TB) []byte { return join(be(24), v6(t)) }, true},
		{"raw-openbsd-12", 12, v6, true},
		{"raw-bsdos-14", 14, v4, false},
		{"ipv4-228", 228, v4, false},
		{"ipv6-229", 229, v6, true},
		{"ipoib", 242, func(t testing.TB) []byte { return ipoib(20, layers.EthernetTypeIPv4, v4(t)) }, false},
		{"ipoib-with-source", 242, func(t testing.TB) []byte { return ipoib(40, layers.EthernetTypeIPv6, v6(t)) }, true},
		{"ipv4-options", layers.LinkTypeRaw, ipv4Options, false},
		{"ipv4-tso-length-0", layers.LinkTypeRaw, tso, false},
		{"ipv6-extension-headers", layers.LinkTypeRaw, ipv6Ext, true},
	}
	type tuple struct {
		Src, Dst          netip.AddrPort
		Seq               uint32
		Payload, Captured int
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := capture.NewDecoder()
			var seg capture.Segment
			if r := d.Decode(tt.frame(t), tt.link, &seg); r != capture.ReasonNone {
				t.Fatalf("Decode: %v (%v), want a TCP segment", r, d.Err)
			}
			want := tuple{netip.MustParseAddrPort(innerSrc + ":40001"), netip.MustParseAddrPort(innerDst + ":8443"), 1000, 33, 33}
			if tt.v6 {
				want.Src, want.Dst = netip.MustParseAddrPort("["+inner6Src+"]:40001"), netip.MustParseAddrPort("["+inner6Dst+"]:8443")
			}
			got := tuple{seg.Src, seg.Dst, seg.Seq, seg.PayloadLen, seg.CapturedPayload}
			if diff := cmp.Diff(want, got, segmentCmp); diff != "" {
				t.Errorf("segment (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeBadLinkHeaders: link headers that are cut short or name a
// version or family that is not IP are counted, not decoded.
func TestDecodeBadLinkHeaders(t *testing.T) {
	tests := []struct {
		name  string
		link  layers.LinkType
		frame []byte
		want  capture.Reason
	}{
		{"raw empty", layers.LinkTypeRaw, nil, capture.ReasonMalformed},
		{"raw version 5", layers.LinkTypeRaw, []byte{0x50, 0, 0, 20}, capture.ReasonMalformed},
		{"raw cut IPv4 header", layers.LinkTypeRaw, []byte{0x45, 0, 0, 40, 0, 0}, capture.ReasonMalformed},
		{"null short", layers.LinkTypeNull, []byte{2, 0}, capture.ReasonMalformed},
		{"null unknown family", layers.LinkTypeNull, []byte{7, 0, 0, 0, 0x45}, capture.ReasonNotIP},
		{"ethernet short", layers.LinkTypeEthernet, make([]byte, 13), capture.ReasonMalformed},
		{"sll short", layers.LinkTypeLinuxSLL, make([]byte, 15), capture.ReasonMalformed},
		{"sll2 short", layers.LinkTypeLinuxSLL2, make([]byte, 19), capture.ReasonMalformed},
		{"ipoib short", 242, make([]byte, 10), capture.ReasonMalformed},
		{"mpls no bottom of stack", layers.LinkTypeEthernet, append(ethHeader(0x8847), 0, 0, 0, 64, 0, 0, 0, 64), capture.ReasonMalformed},
		{"pppoe short", layers.LinkTypeEthernet, append(ethHeader(0x8864), 0x11, 0, 0, 1), capture.ReasonMalformed},
		{"pppoe lcp", layers.LinkTypeEthernet, append(ethHeader(0x8864), 0x11, 0, 0, 1, 0, 2, 0xc0, 0x21), capture.ReasonNotIP},
		{"unknown link type", 147, []byte{0x45}, capture.ReasonLinkType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := capture.NewDecoder()
			var seg capture.Segment
			if got := d.Decode(tt.frame, tt.link, &seg); got != tt.want {
				t.Errorf("Decode: %v, want %v", got, tt.want)
			}
			if tt.want == capture.ReasonMalformed && d.Err == nil {
				t.Errorf("malformed without Decoder.Err")
			}
		})
	}
}

// ethHeader is an Ethernet header with the given EtherType.
func ethHeader(et uint16) []byte {
	h := append(append([]byte(nil), macB...), macA...)
	return binary.BigEndian.AppendUint16(h, et)
}
