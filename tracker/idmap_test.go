package tracker

import (
	"math/rand/v2"
	"testing"
)

// idMap against a map: provisional ids set in rising order, as the merge
// sets them, taken in any order, through growth and shrinking; an id never
// set, or already taken, is 0.
func TestIDMapMatchesAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var m idMap
	want := map[uint64]uint64{}
	var live []uint64
	next, frame := uint64(0), uint64(0)
	for step := range 300000 {
		if step < 150000 && r.IntN(3) > 0 || len(live) == 0 {
			frame += 1 + uint64(r.IntN(20))
			next++
			m.set(frame, next)
			want[frame] = next
			live = append(live, frame)
			continue
		}
		k := r.IntN(len(live))
		key := live[k]
		live[k] = live[len(live)-1]
		live = live[:len(live)-1]
		if got := m.take(key); got != want[key] {
			t.Fatalf("step %d: take(%d) = %d, want %d", step, key, got, want[key])
		}
		delete(want, key)
		if got := m.take(key); got != 0 {
			t.Fatalf("step %d: take(%d) again = %d, want 0", step, key, got)
		}
		if got := m.take(frame + 1); got != 0 {
			t.Fatalf("step %d: take of an id never set = %d", step, got)
		}
	}
	if m.n != len(want) {
		t.Errorf("%d entries, want %d", m.n, len(want))
	}
	for key, id := range want {
		if got := m.take(key); got != id {
			t.Fatalf("take(%d) = %d, want %d", key, got, id)
		}
	}
	if len(m.slots) > minSlots {
		t.Errorf("%d slots left when empty", len(m.slots))
	}
}

// Keys at home in the last slots make a cluster that wraps to the start;
// taking any of them leaves the others found.
func TestIDMapWrapping(t *testing.T) {
	var keys []uint64
	for k := uint64(1); len(keys) < 12; k++ {
		if mix64(k)>>(64-10) >= 1020 { // home in the last 4 of 1024 slots
			keys = append(keys, k)
		}
	}
	for first := range keys {
		var m idMap
		for i, k := range keys {
			m.set(k, uint64(i+1))
		}
		if len(m.slots) != minSlots {
			t.Fatalf("%d slots, want %d", len(m.slots), minSlots)
		}
		order := append(append([]int{}, first), func() (o []int) {
			for i := range keys {
				if i != first {
					o = append(o, i)
				}
			}
			return
		}()...)
		for _, i := range order {
			if got := m.take(keys[i]); got != uint64(i+1) {
				t.Fatalf("taking %d first: take(key %d) = %d, want %d", first, i, got, i+1)
			}
		}
	}
}
