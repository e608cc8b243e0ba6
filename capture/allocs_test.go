package capture_test

import (
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
)

// establishedFrame returns the link-layer bytes of a data segment of an
// established connection with the timestamps option, as Linux sends it.
func establishedFrame(t testing.TB, opts scenario.Options, client, server string, sack bool) []byte {
	t.Helper()
	b := scenario.New(opts)
	c := b.Conn(client, server)
	c.Handshake()
	p := c.Segment(scenario.Client, "PA", 1200)
	p.Timestamps, p.TSVal, p.TSEcr = true, 1000, 2000
	if sack {
		p.SACK = [][2]uint32{{100, 200}, {300, 400}, {500, 600}}
	}
	c.Write(p)
	recs := parseLEPcap(t, mustBytes(t, b))
	return recs[len(recs)-1].data
}

var allocCases = []struct {
	name           string
	opts           scenario.Options
	link           layers.LinkType
	client, server string
	sack           bool
}{
	{"ethernet-ipv4", scenario.Options{}, layers.LinkTypeEthernet, "10.0.0.1:40000", "10.0.0.2:443", false},
	{"ethernet-ipv6", scenario.Options{}, layers.LinkTypeEthernet, "[2001:db8::1]:40000", "[2001:db8::2]:443", false},
	{"ethernet-ipv4-sack", scenario.Options{}, layers.LinkTypeEthernet, "10.0.0.1:40000", "10.0.0.2:443", true},
	{"qinq-ipv4", scenario.Options{VLANs: []uint16{1, 2}}, layers.LinkTypeEthernet, "10.0.0.1:40000", "10.0.0.2:443", false},
	{"sll2-ipv6", scenario.Options{Link: scenario.LinuxSLL2}, layers.LinkTypeLinuxSLL2, "[2001:db8::1]:40000", "[2001:db8::2]:443", false},
	{"raw-ipv4", scenario.Options{Link: scenario.RawIP}, layers.LinkTypeRaw, "10.0.0.1:40000", "10.0.0.2:443", false},
}

// TestDecodeNoAllocs: decoding an ordinary TCP segment allocates nothing.
func TestDecodeNoAllocs(t *testing.T) {
	for _, tt := range allocCases {
		t.Run(tt.name, func(t *testing.T) {
			frame := establishedFrame(t, tt.opts, tt.client, tt.server, tt.sack)
			d := capture.NewDecoder()
			var seg capture.Segment
			if r := d.Decode(frame, tt.link, &seg); r != capture.ReasonNone || !seg.HasTS || seg.PayloadLen != 1200 {
				t.Fatalf("Decode: reason %v, HasTS %v, PayloadLen %d; want a TCP segment with timestamps and 1200 bytes", r, seg.HasTS, seg.PayloadLen)
			}
			allocs := testing.AllocsPerRun(1000, func() {
				d.Decode(frame, tt.link, &seg)
			})
			if allocs != 0 {
				t.Errorf("Decode allocates %v times per frame, want 0", allocs)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, tt := range allocCases {
		b.Run(tt.name, func(b *testing.B) {
			frame := establishedFrame(b, tt.opts, tt.client, tt.server, tt.sack)
			d := capture.NewDecoder()
			var seg capture.Segment
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if d.Decode(frame, tt.link, &seg) != capture.ReasonNone {
					b.Fatal("not decoded as TCP")
				}
			}
		})
	}
}

// TestDecodeNotTCPNoAllocs: the ordinary traffic that is counted but not
// tracked (UDP, ICMP, ARP, fragments) allocates nothing either; a busy DNS
// or ARP capture must not cost an allocation per packet.
func TestDecodeNotTCPNoAllocs(t *testing.T) {
	for _, tt := range []struct {
		name  string
		frame func(testing.TB) []byte
		want  capture.Reason
	}{
		{"udp", udpFrame, capture.ReasonNotTCP},
		{"udp6", udp6Frame, capture.ReasonNotTCP},
		{"icmp", icmpFrame, capture.ReasonNotTCP},
		{"arp", arpFrame, capture.ReasonNotIP},
		{"fragment", fragmentFrame, capture.ReasonFragment},
		{"ipv6 fragment", ipv6FragmentFrame, capture.ReasonFragment},
	} {
		t.Run(tt.name, func(t *testing.T) {
			frame := tt.frame(t)
			d := capture.NewDecoder()
			var seg capture.Segment
			if r := d.Decode(frame, layers.LinkTypeEthernet, &seg); r != tt.want {
				t.Fatalf("Decode: %v, want %v", r, tt.want)
			}
			if allocs := testing.AllocsPerRun(1000, func() { d.Decode(frame, layers.LinkTypeEthernet, &seg) }); allocs != 0 {
				t.Errorf("Decode allocates %v times per frame, want 0", allocs)
			}
		})
	}
}
