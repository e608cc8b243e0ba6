package tracker

import "testing"

// The tombstone ring against a plain map, through additions, replacements,
// forgets, expiries and compactions: with keys spread over the index, and
// with keys that share their top bits (their home slot) four at a time,
// which makes longer probe sequences for deletion to mend.
func TestTombstonesMatchAMap(t *testing.T) {
	spread := func(k uint64) uint64 { return mix64(k) }
	t.Run("spread", func(t *testing.T) { testTombstones(t, 0, spread) })
	t.Run("colliding", func(t *testing.T) { testTombstones(t, 0, func(k uint64) uint64 { return mix64(k/4)&^3 | k%4 }) })
	// Index slots hold sequence numbers modulo 2^32-1: across the wrap.
	t.Run("wrapping", func(t *testing.T) { testTombstones(t, seqMod-100000, spread) })
}

func testTombstones(t *testing.T, start int64, key func(uint64) uint64) {
	var ts tombstones
	ts.base, ts.head, ts.next = start, start, start
	want := map[uint64]past{}
	now := int64(0)
	for i := range 200000 {
		now += 1000
		h := key(uint64(i*7919) % 5000) // keys come back: replacements
		p := past{until: now + int64(i%3+1)*300000, firstFrame: int64(i)}
		ts.add(h, p)
		want[h] = p
		if i%5 == 0 {
			g := key(uint64(i*31) % 5000)
			ts.forget(g)
			delete(want, g)
		}
		if i%100 == 0 {
			ts.expire(now)
			for k, p := range want {
				if p.until <= now {
					// Expired in the map; the ring may keep it until the
					// entries before it expire, and lookups check until.
					if got, ok := ts.get(k); ok && got.until > now {
						t.Fatalf("key %d: ring has %+v, map has it expired", k, got)
					}
					delete(want, k)
				}
			}
		}
		if i%997 == 0 {
			for k, p := range want {
				if got, ok := ts.get(k); !ok || got != p {
					t.Fatalf("step %d key %d: got %+v %v, want %+v", i, k, got, ok, p)
				}
			}
		}
	}
	ts.expire(now + 1e9)
	if ts.len() != 0 {
		t.Errorf("%d tombstones indexed after all expired", ts.len())
	}
	if len(ts.index) > minSlots {
		t.Errorf("the index keeps %d slots with nothing in it", len(ts.index))
	}
	if len(ts.blocks) > 3 {
		t.Errorf("%d blocks held for at most 5000 live keys: expired blocks are not let go", len(ts.blocks))
	}
}
