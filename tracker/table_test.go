package tracker

import (
	"testing"

	"github.com/tcplens/tcplens/capture"
)

// Keys that share a hash are chained: each is found, and removing any of
// them leaves the others.
func TestConnTableCollisions(t *testing.T) {
	for _, order := range [][]int{{0, 1, 2}, {1, 0, 2}, {2, 1, 0}, {1, 2, 0}} {
		ct := newConnTable()
		conns := make([]*Conn, 3)
		for i := range conns {
			conns[i] = &Conn{Key: capture.Key{LoPort: uint16(i + 1)}}
			ct.put(42, conns[i]) // one hash for all three
		}
		ct.put(7, &Conn{Key: capture.Key{LoPort: 9}})
		removed := map[int]bool{}
		for _, i := range order {
			ct.remove(conns[i])
			ct.remove(conns[i]) // twice: no effect
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
			t.Errorf("the other hash's chain is wrong")
		}
	}
}
