package capture_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/capture"
)

// TestFlagsString: the spelling is tcpdump's. The wanted strings are what
// tcpdump 4.99.3 prints for packets with these flags (it lists the bits in
// the order F S R P . U E W).
func TestFlagsString(t *testing.T) {
	tests := []struct {
		letters string // scenario flag letters
		tcpdump string
	}{
		{"", "none"},
		{"S", "S"},
		{"SA", "S."},
		{"A", "."},
		{"FA", "F."},
		{"FPA", "FP."},
		{"RA", "R."},
		{"R", "R"},
		{"SF", "FS"},
		{"RP", "RP"},
		{"UA", ".U"},
		{"UPA", "P.U"},
		{"EA", ".E"},
		{"CA", ".W"},
		{"SAE", "S.E"},
		{"SEC", "SEW"},
		{"APUEC", "P.UEW"},
		{"SAFRPUEC", "FSRP.UEW"},
	}
	for _, tt := range tests {
		f := flagsOf(t, tt.letters)
		if got := f.String(); got != tt.tcpdump {
			t.Errorf("flags %q: String() = %q, tcpdump prints %q", tt.letters, got, tt.tcpdump)
		}
		if got := string(f.AppendTo([]byte("x"))); f != 0 && got != "x"+tt.tcpdump {
			t.Errorf("flags %q: AppendTo = %q, want %q", tt.letters, got, "x"+tt.tcpdump)
		}
	}
}

func TestFlagsHas(t *testing.T) {
	f := capture.SYN | capture.ACK
	if !f.Has(capture.SYN) || !f.Has(capture.SYN|capture.ACK) || f.Has(capture.SYN|capture.FIN) || f.Has(capture.RST) {
		t.Errorf("Has is wrong for %v", f)
	}
}

func TestSeqLen(t *testing.T) {
	for _, tt := range []struct {
		flags   capture.Flags
		payload int
		want    uint32
	}{
		{capture.SYN, 0, 1},
		{capture.SYN | capture.ACK, 0, 1},
		{capture.ACK, 0, 0},
		{capture.ACK | capture.PSH, 1448, 1448},
		{capture.FIN | capture.ACK, 10, 11},
		{capture.SYN | capture.FIN, 5, 7},
		{capture.RST, 0, 0},
	} {
		s := capture.Segment{Flags: tt.flags, PayloadLen: tt.payload}
		if got := s.SeqLen(); got != tt.want {
			t.Errorf("SeqLen of %v with %d bytes = %d, want %d", tt.flags, tt.payload, got, tt.want)
		}
	}
}

func TestKeyOf(t *testing.T) {
	seg := func(src, dst string, vlan [2]uint16) *capture.Segment {
		return &capture.Segment{Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), VLAN: vlan}
	}
	for _, tt := range []struct {
		name   string
		a, b   string // a sends to b
		lo, hi string
	}{
		{"ipv4", "10.0.0.2:80", "10.0.0.1:40000", "10.0.0.1:40000", "10.0.0.2:80"},
		{"same address, ports decide", "10.0.0.1:9", "10.0.0.1:8", "10.0.0.1:8", "10.0.0.1:9"},
		{"ipv6", "[2001:db8::2]:443", "[2001:db8::1]:5", "[2001:db8::1]:5", "[2001:db8::2]:443"},
		{"ipv6, first word decides", "[fe80::1]:1", "[2001:db8::ffff:ffff]:2", "[2001:db8::ffff:ffff]:2", "[fe80::1]:1"},
		{"ipv4, high byte", "192.168.0.1:1", "10.255.255.255:2", "10.255.255.255:2", "192.168.0.1:1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k1, fromHi1 := capture.KeyOf(seg(tt.a, tt.b, [2]uint16{}))
			k2, fromHi2 := capture.KeyOf(seg(tt.b, tt.a, [2]uint16{}))
			if k1 != k2 {
				t.Errorf("the two directions have different keys: %+v, %+v", k1, k2)
			}
			if !fromHi1 || fromHi2 {
				t.Errorf("fromHi %v from %s and %v from %s; want true, false", fromHi1, tt.a, fromHi2, tt.b)
			}
			if diff := cmp.Diff([]netip.AddrPort{netip.MustParseAddrPort(tt.lo), netip.MustParseAddrPort(tt.hi)},
				[]netip.AddrPort{k1.Lo(), k1.Hi()}, segmentCmp); diff != "" {
				t.Errorf("Lo, Hi (-want +got):\n%s", diff)
			}
		})
	}
	k1, _ := capture.KeyOf(seg("10.0.0.1:1", "10.0.0.2:2", [2]uint16{100, 0}))
	k2, _ := capture.KeyOf(seg("10.0.0.1:1", "10.0.0.2:2", [2]uint16{200, 0}))
	if k1 == k2 {
		t.Error("one 4-tuple on two VLANs has one key, want two")
	}
	if k1.VLAN != [2]uint16{100, 0} {
		t.Errorf("key VLAN %v, want [100 0]", k1.VLAN)
	}
}

func TestStatsAdd(t *testing.T) {
	a := capture.Stats{Packets: 3, Bytes: 300, LinkTypes: map[int]int64{147: 1}}
	a.ByReason[capture.ReasonNone], a.ByReason[capture.ReasonNotTCP], a.ByReason[capture.ReasonLinkType] = 1, 1, 1
	b := capture.Stats{Packets: 2, Bytes: 20, LinkTypes: map[int]int64{147: 1, 105: 1}}
	b.ByReason[capture.ReasonLinkType] = 2
	var sum capture.Stats
	sum.Add(&a)
	sum.Add(&b)
	want := capture.Stats{Packets: 5, Bytes: 320, LinkTypes: map[int]int64{147: 2, 105: 1}}
	want.ByReason[capture.ReasonNone], want.ByReason[capture.ReasonNotTCP], want.ByReason[capture.ReasonLinkType] = 1, 1, 3
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("sum (-want +got):\n%s", diff)
	}
	if a.LinkTypes[147] != 1 {
		t.Errorf("Add changed its argument's LinkTypes: %v", a.LinkTypes)
	}
	if sum.Tracked() != 1 || sum.TCP() != 1 {
		t.Errorf("Tracked %d TCP %d, want 1 and 1", sum.Tracked(), sum.TCP())
	}
}

func TestReasonNames(t *testing.T) {
	var got []string
	for _, r := range capture.Reasons() {
		got = append(got, r.String())
	}
	want := []string{"not-ip", "not-tcp", "ip-fragment", "malformed", "malformed-tcp", "unsupported-link-type"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reason names (-want +got):\n%s", diff)
	}
	if s := capture.ReasonNone.String(); s != "tcp" {
		t.Errorf("ReasonNone is %q, want tcp", s)
	}
	if s := capture.Reason(200).String(); s != "unknown" {
		t.Errorf("Reason(200) is %q, want unknown", s)
	}
}

// TestLinkTypeName: the name is for messages such as "link type 129 is
// not decoded"; a number gopacket has no name for is printed bare.
func TestLinkTypeName(t *testing.T) {
	for lt, want := range map[int]string{
		1:    "1 (Ethernet)",
		276:  "276 (Linux SLL2)",
		129:  "129", // ARCNET (Linux), as in tcpdump's arcnet-rfc1201 capture
		147:  "147",
		4000: "4000",
	} {
		if got := capture.LinkTypeName(lt); got != want {
			t.Errorf("LinkTypeName(%d) = %q, want %q", lt, got, want)
		}
	}
}
