package tracker

import (
	"net/netip"
	"testing"

	"github.com/tcplens/tcplens/capture"
)

// The dispatcher of a Sharded picks a segment's worker by segmentHash, and
// Release finds a connection's worker by hashKey: they must agree, in both
// directions, for IPv4, IPv6 and VLANs.
func TestSegmentHashIsKeyHash(t *testing.T) {
	pairs := [][2]string{
		{"10.0.0.1:40000", "10.0.0.2:80"},
		{"10.0.0.2:80", "10.0.0.1:40000"},
		{"[fd00::1]:443", "[fd00::2]:51000"},
		{"[::ffff:10.0.0.1]:1", "192.168.1.1:2"},
		{"0.0.0.0:0", "0.0.0.0:0"},
	}
	seen := map[uint64]bool{}
	for _, p := range pairs {
		for _, vlan := range [][2]uint16{{}, {10, 0}, {10, 20}} {
			s := capture.Segment{Src: netip.MustParseAddrPort(p[0]), Dst: netip.MustParseAddrPort(p[1]), VLAN: vlan}
			k, _ := capture.KeyOf(&s)
			if got, want := segmentHash(&s), hashKey(&k); got != want {
				t.Errorf("%v -> %v vlan %v: segmentHash %x, hashKey %x", s.Src, s.Dst, vlan, got, want)
			}
			r := capture.Segment{Src: s.Dst, Dst: s.Src, VLAN: vlan}
			if segmentHash(&r) != segmentHash(&s) {
				t.Errorf("%v <-> %v: the hash depends on the direction", s.Src, s.Dst)
			}
			seen[hashKey(&k)] = true
		}
	}
	// 5 pairs, of which the first two are one conversation: 4 × 3 VLANs.
	if len(seen) != 12 {
		t.Errorf("%d distinct hashes, want 12", len(seen))
	}
}

// Endpoints whose raw bits differ so as to cancel out (address bytes 8-15
// against the port, which an earlier hash XORed together) hash apart:
// tombstones are found by the hash alone, and a collision would take a new
// connection for the reuse of an old one.
func TestEndpointHashDoesNotCancel(t *testing.T) {
	seen := map[uint64]netip.AddrPort{}
	base := netip.MustParseAddr("2001:db8::1").As16()
	for b8 := range 4 {
		for b15 := range 8 {
			for port := uint16(40000); port < 40064; port++ {
				a := base
				a[8], a[15] = byte(b8), byte(b15)
				ap := netip.AddrPortFrom(netip.AddrFrom16(a), port)
				h := endpointHash(&a, port)
				if other, ok := seen[h]; ok {
					t.Fatalf("%v and %v hash alike (%x)", other, ap, h)
				}
				seen[h] = ap
			}
		}
	}
}
