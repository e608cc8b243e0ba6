package capture_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
)

// The addresses of tunnelled packets: the outer ones belong to the tunnel
// endpoints and must not leak into the segment.
const (
	outerSrc, outerDst = "198.18.0.1", "198.18.0.2"
	innerSrc, innerDst = "172.16.5.1", "172.16.5.2"
	inner6Src          = "2001:db8:1::1"
	inner6Dst          = "2001:db8:1::2"
)

// innerTCP returns the innermost IPv4 (or IPv6) header and TCP segment
// with 33 bytes of payload.
func innerTCP(t testing.TB, v6 bool) []gopacket.SerializableLayer {
	if v6 {
		ip := ipv6(inner6Src, inner6Dst, layers.IPProtocolTCP)
		return cat(ip, tcpLayers(t, ip, 40001, 8443, 33))
	}
	ip := ipv4(innerSrc, innerDst, layers.IPProtocolTCP)
	return cat(ip, tcpLayers(t, ip, 40001, 8443, 33))
}

func TestTunnels(t *testing.T) {
	outerUDP := func(t testing.TB, dport layers.UDPPort) []gopacket.SerializableLayer {
		ip := ipv4(outerSrc, outerDst, layers.IPProtocolUDP)
		udp := &layers.UDP{SrcPort: 50000, DstPort: dport}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		return cat(ip, udp)
	}
	innerEther := func(et layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: macB, DstMAC: macA, EthernetType: et}
	}
	tests := []struct {
		name string
		v6   bool // the innermost packet is IPv6
		data func(t testing.TB) []byte
	}{
		{"gre", false, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeIPv4), ipv4(outerSrc, outerDst, layers.IPProtocolGRE),
				&layers.GRE{Protocol: layers.EthernetTypeIPv4}, innerTCP(t, false))...)
		}},
		{"gre-ipv6-inner", true, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeIPv4), ipv4(outerSrc, outerDst, layers.IPProtocolGRE),
				&layers.GRE{Protocol: layers.EthernetTypeIPv6}, innerTCP(t, true))...)
		}},
		{"gre-ethernet", false, func(t testing.TB) []byte { // transparent Ethernet bridging (NVGRE-like)
			return serialize(t, cat(ether(layers.EthernetTypeIPv4), ipv4(outerSrc, outerDst, layers.IPProtocolGRE),
				&layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging},
				innerEther(layers.EthernetTypeIPv4), innerTCP(t, false))...)
		}},
		{"vxlan", false, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeIPv4), outerUDP(t, 4789),
				&layers.VXLAN{ValidIDFlag: true, VNI: 5001},
				innerEther(layers.EthernetTypeIPv4), innerTCP(t, false))...)
		}},
		{"vxlan-vlan-ipv6-inner", true, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeIPv4), outerUDP(t, 4789),
				&layers.VXLAN{ValidIDFlag: true, VNI: 5001},
				innerEther(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 300, Type: layers.EthernetTypeIPv6},
				innerTCP(t, true))...)
		}},
		{"geneve", false, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeIPv4), outerUDP(t, 6081),
				&layers.Geneve{Protocol: layers.EthernetTypeTransparentEthernetBridging, VNI: 77},
				innerEther(layers.EthernetTypeIPv4), innerTCP(t, false))...)
		}},
		{"ipip", false, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeIPv4), ipv4(outerSrc, outerDst, layers.IPProtocolIPv4), innerTCP(t, false))...)
		}},
		{"ipv6-in-ipv4", true, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeIPv4), ipv4(outerSrc, outerDst, layers.IPProtocolIPv6), innerTCP(t, true))...)
		}},
		{"ipv4-in-ipv6", false, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeIPv6), ipv6("2001:db8:f::1", "2001:db8:f::2", layers.IPProtocolIPv4), innerTCP(t, false))...)
		}},
		{"mpls", false, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeMPLSUnicast),
				&layers.MPLS{Label: 1234, StackBottom: true, TTL: 64}, innerTCP(t, false))...)
		}},
		{"mpls-two-labels-ipv6", true, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypeMPLSUnicast),
				&layers.MPLS{Label: 16, TTL: 64}, &layers.MPLS{Label: 1234, StackBottom: true, TTL: 64}, innerTCP(t, true))...)
		}},
		{"pppoe", false, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypePPPoESession),
				&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 0x1234},
				&layers.PPP{PPPType: layers.PPPTypeIPv4}, innerTCP(t, false))...)
		}},
		{"pppoe-ipv6", true, func(t testing.TB) []byte {
			return serialize(t, cat(ether(layers.EthernetTypePPPoESession),
				&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 0x1234},
				&layers.PPP{PPPType: layers.PPPTypeIPv6}, innerTCP(t, true))...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := scenario.New(scenario.Options{})
			b.WriteRaw(tt.data(t))
			segs, r, err := readAll(t, tt.name, mustBytes(t, b))
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if len(segs) != 1 {
				t.Fatalf("%d segments, want 1 (ByReason %v, Problems %v)", len(segs), r.Stats.ByReason, r.Problems)
			}
			src, dst := netip.AddrPortFrom(netip.MustParseAddr(innerSrc), 40001), netip.AddrPortFrom(netip.MustParseAddr(innerDst), 8443)
			if tt.v6 {
				src, dst = netip.AddrPortFrom(netip.MustParseAddr(inner6Src), 40001), netip.AddrPortFrom(netip.MustParseAddr(inner6Dst), 8443)
			}
			type tuple struct {
				Src, Dst        netip.AddrPort
				Seq, Ack        uint32
				Flags           capture.Flags
				Window          uint16
				Payload, Captrd int
			}
			want := tuple{src, dst, 1000, 2000, capture.ACK | capture.PSH, 512, 33, 33}
			s := segs[0]
			got := tuple{s.Src, s.Dst, s.Seq, s.Ack, s.Flags, s.Window, s.PayloadLen, s.CapturedPayload}
			if diff := cmp.Diff(want, got, segmentCmp); diff != "" {
				t.Errorf("innermost segment (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTunnelNonTCPInside: a tunnel whose inner packet is not TCP is counted
// as such, not as malformed.
func TestTunnelNonTCPInside(t *testing.T) {
	ip := ipv4(innerSrc, innerDst, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 1, DstPort: 2}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	b := scenario.New(scenario.Options{})
	b.WriteRaw(serialize(t, ether(layers.EthernetTypeIPv4), ipv4(outerSrc, outerDst, layers.IPProtocolGRE),
		&layers.GRE{Protocol: layers.EthernetTypeIPv4}, ip, udp, gopacket.Payload("x")))
	b.WriteRaw(serialize(t, ether(layers.EthernetTypeMPLSUnicast), &layers.MPLS{Label: 9, StackBottom: true, TTL: 1}, ip, udp, gopacket.Payload("x")))
	_, r, err := readAll(t, "tunnel-udp.pcap", mustBytes(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if r.Stats.ByReason[capture.ReasonNotTCP] != 2 {
		t.Errorf("ByReason %v, want 2 under %v", r.Stats.ByReason, capture.ReasonNotTCP)
	}
	checkStats(t, &r.Stats)
}

// ipInIP returns depth IPv4 headers, each carrying the next (protocol 4),
// around a TCP segment, as a raw IP frame.
func ipInIP(t testing.TB, depth int) []byte {
	var ls []gopacket.SerializableLayer
	for range depth {
		ls = append(ls, ipv4(outerSrc, outerDst, layers.IPProtocolIPv4))
	}
	return serialize(t, cat(ls, innerTCP(t, false))...)
}

// TestTunnelDepth: deep but finite nesting is followed to the end; absurd
// nesting is counted as malformed instead of looping.
func TestTunnelDepth(t *testing.T) {
	d := capture.NewDecoder()
	var seg capture.Segment
	if r := d.Decode(ipInIP(t, 10), layers.LinkTypeRaw, &seg); r != capture.ReasonNone || seg.Src.Addr() != netip.MustParseAddr(innerSrc) {
		t.Errorf("10 nested IPv4 headers: %v, source %v; want the inner TCP segment from %s", r, seg.Src, innerSrc)
	}
	if r := d.Decode(ipInIP(t, 100), layers.LinkTypeRaw, &seg); r != capture.ReasonMalformed || d.Err == nil {
		t.Errorf("100 nested IPv4 headers: %v (%v), want %v with an error", r, d.Err, capture.ReasonMalformed)
	}
}
