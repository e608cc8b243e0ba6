package capture_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Frame builders for hand-made packets: non-TCP traffic, fragments and
// tunnels. Every builder serializes with gopacket and fixes lengths and
// checksums.

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0xaa, 1}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0xaa, 2}
)

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ether(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
}

// ipv4 returns an IPv4 header from src to dst carrying proto.
func ipv4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, Id: 99,
		SrcIP: netip.MustParseAddr(src).AsSlice(), DstIP: netip.MustParseAddr(dst).AsSlice()}
}

func ipv6(src, dst string, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next,
		SrcIP: netip.MustParseAddr(src).AsSlice(), DstIP: netip.MustParseAddr(dst).AsSlice()}
}

// tcpLayers returns a TCP header (ACK, seq 1000, ack 2000, window 512) and
// its payload, with the checksum tied to ip.
func tcpLayers(t testing.TB, ip gopacket.NetworkLayer, sport, dport uint16, payload int) []gopacket.SerializableLayer {
	t.Helper()
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport),
		Seq: 1000, Ack: 2000, ACK: true, PSH: payload > 0, Window: 512}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return []gopacket.SerializableLayer{tcp, gopacket.Payload(make([]byte, payload))}
}

// cat joins layers and layer lists into one list.
func cat(parts ...any) []gopacket.SerializableLayer {
	var out []gopacket.SerializableLayer
	for _, p := range parts {
		switch p := p.(type) {
		case gopacket.SerializableLayer:
			out = append(out, p)
		case []gopacket.SerializableLayer:
			out = append(out, p...)
		default:
			panic("cat: not a layer")
		}
	}
	return out
}

func udpFrame(t testing.TB) []byte {
	ip := ipv4("10.1.0.1", "10.1.0.2", layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return serialize(t, ether(layers.EthernetTypeIPv4), ip, udp, gopacket.Payload("query"))
}

func udp6Frame(t testing.TB) []byte {
	ip := ipv6("2001:db8::a", "2001:db8::b", layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return serialize(t, ether(layers.EthernetTypeIPv6), ip, udp, gopacket.Payload("query"))
}

func icmpFrame(t testing.TB) []byte {
	ip := ipv4("10.1.0.1", "10.1.0.2", layers.IPProtocolICMPv4)
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1}
	return serialize(t, ether(layers.EthernetTypeIPv4), ip, icmp)
}

func arpFrame(t testing.TB) []byte {
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
		SourceHwAddress: macA, SourceProtAddress: []byte{10, 1, 0, 1},
		DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 1, 0, 2}}
	eth := ether(layers.EthernetTypeARP)
	eth.DstMAC = layers.EthernetBroadcast
	return serialize(t, eth, arp)
}

// fragmentFrame is the first fragment (MF set, offset 0) of a TCP packet:
// it even holds a whole TCP header, which must not be tracked.
func fragmentFrame(t testing.TB) []byte {
	ip := ipv4("10.1.0.1", "10.1.0.2", layers.IPProtocolTCP)
	ip.Flags = layers.IPv4MoreFragments
	return serialize(t, cat(ether(layers.EthernetTypeIPv4), ip, tcpLayers(t, ip, 1, 2, 24))...)
}

// laterFragmentFrame is a non-first fragment (offset 3*8 bytes, MF clear).
func laterFragmentFrame(t testing.TB) []byte {
	ip := ipv4("10.1.0.1", "10.1.0.2", layers.IPProtocolTCP)
	ip.FragOffset = 3
	return serialize(t, ether(layers.EthernetTypeIPv4), ip, gopacket.Payload(make([]byte, 40)))
}

// ipv6FragmentFrame is an IPv6 packet with a Fragment header in front of a
// TCP header.
func ipv6FragmentFrame(t testing.TB) []byte {
	ip := ipv6("2001:db8::a", "2001:db8::b", layers.IPProtocolIPv6Fragment)
	frag := make([]byte, 8)
	frag[0] = byte(layers.IPProtocolTCP)
	frag[3] = 1 // offset 0, M flag set
	frag[7] = 42
	tcp := serialize(t, tcpLayers(t, ipv6("2001:db8::a", "2001:db8::b", layers.IPProtocolTCP), 1, 2, 16)...)
	return serialize(t, ether(layers.EthernetTypeIPv6), ip, gopacket.Payload(append(frag, tcp...)))
}

// badTCPFrame is IPv4 carrying a TCP header whose data offset (4 words)
// is below the minimum of 5.
func badTCPFrame(t testing.TB) []byte {
	ip := ipv4("10.1.0.1", "10.1.0.2", layers.IPProtocolTCP)
	tcp := serialize(t, tcpLayers(t, ipv4("10.1.0.1", "10.1.0.2", layers.IPProtocolTCP), 1, 2, 0)...)
	tcp[12] = 4 << 4
	return serialize(t, ether(layers.EthernetTypeIPv4), ip, gopacket.Payload(tcp))
}

// shortIPFrame claims IPv4 but holds only 10 bytes of the IP header.
func shortIPFrame(t testing.TB) []byte {
	f := serialize(t, ether(layers.EthernetTypeIPv4), gopacket.Payload([]byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6}))
	return f[:14+10]
}
