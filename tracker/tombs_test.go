package tracker

import "testing"

// The tombstone ring against a plain map, through additions, replacements,
// forgets, expiries and compactions.
func TestTombstonesMatchAMap(t *testing.T) {
	ts := newTombstones()
	want := map[uint64]past{}
	now := int64(0)
	for i := range 200000 {
		now += 1000
		h := uint64(i*7919) % 5000 // keys come back: replacements
		p := past{until: now + int64(i%3+1)*300000, firstFrame: int64(i)}
		ts.add(h, p)
		want[h] = p
		if i%5 == 0 {
			g := uint64(i*31) % 5000
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
	if len(ts.blocks) > 3 {
		t.Errorf("%d blocks held for at most 5000 live keys: expired blocks are not let go", len(ts.blocks))
	}
}
