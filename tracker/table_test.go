package tracker

import (
	"testing"

	"github.com/tcplens/tcplens/capture"
)

// Keys that share a hash are each found, and removing any of them leaves
// the others.
func TestConnTableCollisions(t *testing.T) {
	for _, order := range [][]int{{0, 1, 2}, {1, 0, 2}, {2, 1, 0}, {1, 2, 0}} {
		var ct connTable
		conns := make([]*Conn, 3)
		for i := range conns {
			conns[i] = &Conn{Key: capture.Key{LoPort: uint16(i + 1)}}
			conns[i].hash = 42 // one hash for all three
			ct.put(42, conns[i])
		}
		ct.put(7, &Conn{Key: capture.Key{LoPort: 9}, hash: 7})
		removed := map[int]bool{}
		for _, i := range order {
			ct.remove(42, conns[i])
			ct.remove(42, conns[i]) // twice: no effect
			removed[i] = true
			for j, c := range conns {
				got := ct.get(42, &c.Key)
				if removed[j] && got != nil || !removed[j] && got != c {
					t.Fatalf("order %v, after removing %d: get(%d) = %p, want %p (removed %v)", order, i, j, got, c, removed[j])
				}
			}
			n := 0
			ct.each(func(*Conn) { n++ })
			if want := 4 - len(removed); n != want || ct.len() != want {
				t.Fatalf("order %v: each saw %d, len %d, want %d", order, n, ct.len(), want)
			}
		}
		if ct.get(7, &capture.Key{LoPort: 9}) == nil || ct.get(7, &capture.Key{LoPort: 1}) != nil {
			t.Errorf("the other hash's connection is wrong")
		}
	}
}

// The table against a map, through a burst that grows it and a drain that
// shrinks it, with hashes of one residue (a worker's share), hashes that
// collide in their top bits, which make long probe sequences for deletion
// to mend, and probe sequences that wrap around the end.
func TestConnTableMatchesAMap(t *testing.T) {
	for name, hash := range map[string]func(i uint64) uint64{
		"one residue": func(i uint64) uint64 { return mix64(i) &^ 1 },
		"colliding":   func(i uint64) uint64 { return i / 4 << 52 },
		// An eighth of the keys at home in the last slots: their probes wrap.
		"wrapping": func(i uint64) uint64 {
			if i%8 == 0 {
				return ^uint64(0) - i<<40
			}
			return mix64(i)
		},
	} {
		var ct connTable
		want := map[uint16]*Conn{}
		check := func(step string) {
			if ct.len() != len(want) {
				t.Fatalf("%s, %s: len %d, want %d", name, step, ct.len(), len(want))
			}
			for port, c := range want {
				if got := ct.get(c.hash, &c.Key); got != c {
					t.Fatalf("%s, %s: port %d not found", name, step, port)
				}
			}
		}
		conns := make([]*Conn, 40000)
		for i := range conns {
			conns[i] = &Conn{Key: capture.Key{LoPort: uint16(i), HiPort: uint16(i >> 16)}}
		}
		for i, c := range conns { // a burst
			c.hash = hash(uint64(i))
			ct.put(c.hash, c)
			want[uint16(i)] = c
			if i%7 == 3 { // and connections ending meanwhile
				old := conns[i/2]
				ct.remove(old.hash, old)
				delete(want, old.Key.LoPort)
			}
		}
		check("after the burst")
		grown := len(ct.slots)
		for i, c := range conns {
			if i%100 != 0 {
				ct.remove(c.hash, c)
				delete(want, c.Key.LoPort)
			}
		}
		check("after the drain")
		if len(ct.slots) >= grown/4 {
			t.Errorf("%s: %d slots for %d connections after the drain (%d at the peak)", name, len(ct.slots), ct.len(), grown)
		}
		absent := capture.Key{LoPort: 1, HiPort: 9}
		if ct.get(hash(1), &absent) != nil {
			t.Errorf("%s: a key never added was found", name)
		}
	}
}
