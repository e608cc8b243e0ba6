package tracker

// idMap maps a Sharded's provisional ids (first frames) to ids while their
// connections are open: an entry made and deleted per connection, on the
// goroutine that merges the workers' output, where a Go map's lookups,
// assignments and the tombstones its deletes leave cost a tenth of that
// goroutine's time. A linear-probing table (see probe.go); an id of 0
// marks an empty slot (ids count from 1).
type idMap struct {
	slots []idSlot // a power of two long; at most half full
	shift uint     // 64 - log2(len(slots))
	n     int
}

type idSlot struct{ key, id uint64 }

func idUsed(s *idSlot) bool   { return s.id != 0 }
func idHash(s *idSlot) uint64 { return mix64(s.key) }

func (m *idMap) home(key uint64) uint64 { return mix64(key) >> m.shift }

// set maps key to id, which is not 0.
func (m *idMap) set(key, id uint64) {
	if n := grownSize(m.n+1, len(m.slots)); n != len(m.slots) {
		m.slots, m.shift = rehash(m.slots, n, idUsed, idHash)
	}
	m.slots[free(m.slots, int(m.home(key)), idUsed)] = idSlot{key, id}
	m.n++
}

// take returns the id of key, 0 if it has none, and deletes it.
func (m *idMap) take(key uint64) uint64 {
	if m.n == 0 {
		return 0
	}
	mask := uint64(len(m.slots) - 1)
	i := m.home(key)
	for ; m.slots[i].key != key || m.slots[i].id == 0; i = (i + 1) & mask {
		if m.slots[i].id == 0 {
			return 0
		}
	}
	id := m.slots[i].id
	backShift(m.slots, int(i), idUsed, func(s *idSlot) int { return int(m.home(s.key)) })
	m.n--
	if n := shrunkSize(m.n, len(m.slots)); n != len(m.slots) {
		m.slots, m.shift = rehash(m.slots, n, idUsed, idHash)
	}
	return id
}
