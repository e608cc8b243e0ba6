package capture_test

import (
	"bytes"
	"io"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcplens/tcplens/capture"
)

// tcpFrame serializes one TCP/IPv4 packet, with an Ethernet header when
// ether is set.
func tcpFrame(t *testing.T, ether bool, srcPort uint16) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: []byte{192, 0, 2, 1}, DstIP: []byte{192, 0, 2, 2}}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(srcPort), DstPort: 80, Seq: 7, SYN: true, Window: 1000}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	ls := []gopacket.SerializableLayer{ip, tcp}
	if ether {
		eth := &layers.Ethernet{SrcMAC: make([]byte, 6), DstMAC: make([]byte, 6), EthernetType: layers.EthernetTypeIPv4}
		ls = append([]gopacket.SerializableLayer{eth}, ls...)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPcapNGMixedLinkTypes reads a pcapng whose two interfaces have
// different link types (Ethernet and raw IPv4): each packet is decoded with
// its own interface's link type.
func TestPcapNGMixedLinkTypes(t *testing.T) {
	var file bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&file, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, p := range []struct {
		iface int
		data  []byte
	}{{0, tcpFrame(t, true, 1001)}, {raw, tcpFrame(t, false, 1002)}, {0, tcpFrame(t, true, 1003)}} {
		ci := gopacket.CaptureInfo{Timestamp: start.Add(time.Duration(i) * time.Second), CaptureLength: len(p.data), Length: len(p.data), InterfaceIndex: p.iface}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := capture.NewReader("mixed.pcapng", &file)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint16
	var ifaces []int
	var seg capture.Segment
	for {
		if err := r.Next(&seg); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, seg.Src.Port())
		ifaces = append(ifaces, seg.Interface)
		if seg.Dst != netip.MustParseAddrPort("192.0.2.2:80") {
			t.Errorf("frame %d: dst %v", seg.Frame, seg.Dst)
		}
	}
	if want := []uint16{1001, 1002, 1003}; !slices.Equal(got, want) {
		t.Errorf("source ports %v, want %v", got, want)
	}
	if want := []int{0, 1, 0}; !slices.Equal(ifaces, want) {
		t.Errorf("interfaces %v, want %v", ifaces, want)
	}
}
