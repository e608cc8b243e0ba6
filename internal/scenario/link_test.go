package scenario_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcplens/tcplens/internal/scenario"
)

func layerTypes(p gopacket.Packet) []string {
	var out []string
	for _, l := range p.Layers() {
		out = append(out, l.LayerType().String())
	}
	return out
}

func TestLinkTypes(t *testing.T) {
	addrs := map[string][2]string{
		"v4": {"10.0.0.1:40000", "10.0.0.2:443"},
		"v6": {"[2001:db8::1]:40000", "[2001:db8::2]:443"},
	}
	tests := []struct {
		name   string
		opts   scenario.Options
		linkLT layers.LinkType
		link   []string // layers before the IP layer
	}{
		{"ethernet", scenario.Options{}, layers.LinkTypeEthernet, []string{"Ethernet"}},
		{"vlan", scenario.Options{VLANs: []uint16{100}}, layers.LinkTypeEthernet, []string{"Ethernet", "Dot1Q"}},
		{"qinq", scenario.Options{VLANs: []uint16{100, 200}}, layers.LinkTypeEthernet, []string{"Ethernet", "Dot1Q", "Dot1Q"}},
		{"raw", scenario.Options{Link: scenario.RawIP}, layers.LinkTypeRaw, nil},
		{"sll", scenario.Options{Link: scenario.LinuxSLL}, layers.LinkTypeLinuxSLL, []string{"Linux SLL"}},
		{"sll2", scenario.Options{Link: scenario.LinuxSLL2}, layers.LinkTypeLinuxSLL2, []string{"Linux SLL2"}},
		{"null", scenario.Options{Link: scenario.Null}, layers.LinkTypeNull, []string{"Loopback"}},
		{"pcapng-qinq", scenario.Options{PcapNG: true, VLANs: []uint16{7, 4095}}, layers.LinkTypeEthernet, []string{"Ethernet", "Dot1Q", "Dot1Q"}},
		{"pcapng-sll2", scenario.Options{PcapNG: true, Link: scenario.LinuxSLL2}, layers.LinkTypeLinuxSLL2, []string{"Linux SLL2"}},
	}
	for _, tt := range tests {
		for _, fam := range []string{"v4", "v6"} {
			t.Run(tt.name+"/"+fam, func(t *testing.T) {
				b := scenario.New(tt.opts)
				c := b.Conn(addrs[fam][0], addrs[fam][1])
				c.Handshake()
				c.Send(scenario.Client, "PA", 30)
				mustOK(t, b)
				lt, frames := readCapture(t, b.Bytes())
				if lt != tt.linkLT {
					t.Errorf("link type %v, want %v", lt, tt.linkLT)
				}
				if len(frames) != 4 {
					t.Fatalf("%d frames, want 4", len(frames))
				}
				ipName := map[string]string{"v4": "IPv4", "v6": "IPv6"}[fam]
				want := append(append([]string(nil), tt.link...), ipName, "TCP", "Payload")
				for i, f := range frames {
					if el := f.pkt.ErrorLayer(); el != nil {
						t.Fatalf("frame %d: decode error %v", i+1, el.Error())
					}
					got := layerTypes(f.pkt)
					if i < 3 {
						want := want[:len(want)-1] // no payload
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("frame %d layers (-want +got):\n%s", i+1, diff)
						}
					} else if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("frame %d layers (-want +got):\n%s", i+1, diff)
					}
					checkChecksums(t, f)
					checkLink(t, tt.opts, f, i == 1)
				}
				if got := segOf(tcpOf(t, frames[3])); got != (seg{40000, 443, "AP", 1001, 5001, 65535, 30}) {
					t.Errorf("data segment %+v", got)
				}
				checkNetwork(t, frames[1], fam)
			})
		}
	}
}

// checkLink checks link-layer details of f; fromServer tells the direction.
func checkLink(t *testing.T, opts scenario.Options, f frame, fromServer bool) {
	t.Helper()
	src, dst := scenario.Client.MAC(), scenario.Server.MAC()
	pktType := 4 // outgoing
	if fromServer {
		src, dst, pktType = dst, src, 0
	}
	switch opts.Link {
	case scenario.Ethernet:
		eth := f.pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		if eth.SrcMAC.String() != src.String() || eth.DstMAC.String() != dst.String() {
			t.Errorf("MACs %v -> %v", eth.SrcMAC, eth.DstMAC)
		}
		var ids []uint16
		var types []layers.EthernetType
		for _, l := range f.pkt.Layers() {
			if q, ok := l.(*layers.Dot1Q); ok {
				ids = append(ids, q.VLANIdentifier)
				types = append(types, q.Type)
			}
		}
		for i, et := range types {
			if i+1 < len(types) && et != layers.EthernetTypeDot1Q {
				t.Errorf("inner tag %d EtherType %v, want 0x8100", i, et)
			}
		}
		if diff := cmp.Diff(opts.VLANs, ids); diff != "" {
			t.Errorf("VLAN IDs (-want +got):\n%s", diff)
		}
		if len(opts.VLANs) > 1 && eth.EthernetType != layers.EthernetTypeQinQ {
			t.Errorf("outer EtherType %v, want QinQ", eth.EthernetType)
		}
	case scenario.LinuxSLL:
		sll := f.pkt.Layer(layers.LayerTypeLinuxSLL).(*layers.LinuxSLL)
		if int(sll.PacketType) != pktType || sll.AddrType != 1 || sll.Addr.String() != src.String() {
			t.Errorf("SLL header %+v", sll)
		}
	case scenario.LinuxSLL2:
		sll := f.pkt.Layer(layers.LayerTypeLinuxSLL2).(*layers.LinuxSLL2)
		if int(sll.PacketType) != pktType || sll.ARPHardwareType != 1 || sll.InterfaceIndex != 1 || sll.Addr.String() != src.String() {
			t.Errorf("SLL2 header %+v", sll)
		}
		if len(f.raw) < 20 || f.raw[2] != 0 || f.raw[3] != 0 {
			t.Errorf("SLL2 reserved bytes not zero: % x", f.raw[:4])
		}
	case scenario.Null:
		lo := f.pkt.Layer(layers.LayerTypeLoopback).(*layers.Loopback)
		want := map[bool]uint32{false: 2, true: 24}[f.pkt.Layer(layers.LayerTypeIPv6) != nil]
		if uint32(lo.Family) != want || binary.LittleEndian.Uint32(f.raw) != want {
			t.Errorf("loopback family %d (raw % x), want %d", lo.Family, f.raw[:4], want)
		}
	}
}

func checkNetwork(t *testing.T, f frame, fam string) {
	t.Helper()
	switch ip := f.pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		if fam != "v4" || ip.TTL != 64 || ip.Flags != layers.IPv4DontFragment || ip.SrcIP.String() != "10.0.0.2" {
			t.Errorf("IPv4 header %+v", ip)
		}
	case *layers.IPv6:
		if fam != "v6" || ip.HopLimit != 64 || ip.NextHeader != layers.IPProtocolTCP || ip.SrcIP.String() != "2001:db8::2" {
			t.Errorf("IPv6 header %+v", ip)
		}
	default:
		t.Errorf("network layer %T", ip)
	}
}

func TestLinkTypeNames(t *testing.T) {
	for l, want := range map[scenario.LinkType]layers.LinkType{
		scenario.Ethernet: 1, scenario.RawIP: 101, scenario.LinuxSLL: 113, scenario.LinuxSLL2: 276, scenario.Null: 0,
	} {
		got, ok := l.PcapLinkType()
		if !ok || got != want {
			t.Errorf("%v.PcapLinkType() = %d, %v; want %d", l, got, ok, want)
		}
		if l.String() == fmt.Sprintf("LinkType(%d)", int(l)) {
			t.Errorf("%d has no name", int(l))
		}
	}
	if _, ok := scenario.LinkType(99).PcapLinkType(); ok {
		t.Error("LinkType(99) reported as supported")
	}
}
