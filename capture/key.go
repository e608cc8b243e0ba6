package capture

import (
	"encoding/binary"
	"net/netip"
)

// Key identifies a TCP conversation regardless of direction: both endpoints
// in a canonical order plus the VLAN ids, so one 4-tuple seen on two VLANs is
// two conversations (as in Zeek). It is a comparable value with no pointers,
// a cheap map key; netip.AddrPort holds a pointer and hashes slower.
type Key struct {
	LoAddr, HiAddr [16]byte // IPv4 addresses are stored IPv4-mapped
	LoPort, HiPort uint16
	VLAN           [2]uint16
}

// KeyOf returns the canonical key of s and whether s travels from the
// "high" endpoint to the "low" one.
func KeyOf(s *Segment) (k Key, fromHi bool) {
	src, dst := s.Src.Addr().As16(), s.Dst.Addr().As16()
	sp, dp := s.Src.Port(), s.Dst.Port()
	if less(src, sp, dst, dp) {
		return Key{LoAddr: src, HiAddr: dst, LoPort: sp, HiPort: dp, VLAN: s.VLAN}, false
	}
	return Key{LoAddr: dst, HiAddr: src, LoPort: dp, HiPort: sp, VLAN: s.VLAN}, true
}

func less(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	// Byte order is the order of the big-endian words.
	if x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); x != y {
		return x < y
	}
	if x, y := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]); x != y {
		return x < y
	}
	return ap < bp
}

// Lo returns the low endpoint of k.
func (k Key) Lo() netip.AddrPort { return netip.AddrPortFrom(unmap(k.LoAddr), k.LoPort) }

// Hi returns the high endpoint of k.
func (k Key) Hi() netip.AddrPort { return netip.AddrPortFrom(unmap(k.HiAddr), k.HiPort) }

func unmap(a [16]byte) netip.Addr { return netip.AddrFrom16(a).Unmap() }
