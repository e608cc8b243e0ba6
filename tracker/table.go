package tracker

import "github.com/tcplens/tcplens/capture"

// ptrTable holds things with a capture.Key (connections, parked
// connections) by the 64-bit hash of their key (hashKey), in a
// linear-probing table (see probe.go) that keeps the hash in the slot
// beside the pointer, so that a probe reads nothing but what it finds.
type ptrTable[T any, P keyed[T]] struct {
	slots []ptrSlot[P]
	shift uint
	n     int
}

// keyed is a pointer to something that has a key.
type keyed[T any] interface {
	*T
	tableKey() *capture.Key
}

type ptrSlot[P any] struct {
	hash uint64
	p    P // nil: empty
}

func (c *Conn) tableKey() *capture.Key   { return &c.Key }
func (p *parked) tableKey() *capture.Key { return &p.key }

// connTable holds the connections in memory.
type connTable = ptrTable[Conn, *Conn]

// parkTable holds the parked connections: 16-byte slots, where a map
// keyed by the 40-byte key had 48-byte ones.
type parkTable = ptrTable[parked, *parked]

func (t *ptrTable[T, P]) used(s *ptrSlot[P]) bool   { return s.p != nil }
func (t *ptrTable[T, P]) hash(s *ptrSlot[P]) uint64 { return s.hash }

func (t *ptrTable[T, P]) len() int { return t.n }

// get returns the entry of key k, whose hash is h, or nil.
func (t *ptrTable[T, P]) get(h uint64, k *capture.Key) P {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.p == nil {
			return nil
		}
		if s.hash == h && *s.p.tableKey() == *k {
			return s.p
		}
	}
}

// put adds p, whose key is not in the table and hashes to h.
func (t *ptrTable[T, P]) put(h uint64, p P) {
	if n := grownSize(t.n+1, len(t.slots)); n != len(t.slots) {
		t.slots, t.shift = rehash(t.slots, n, t.used, t.hash)
	}
	t.slots[free(t.slots, int(h>>t.shift), t.used)] = ptrSlot[P]{h, p}
	t.n++
}

// remove deletes p, whose key hashes to h, if it is in the table.
func (t *ptrTable[T, P]) remove(h uint64, p P) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := int(h >> t.shift)
	for ; t.slots[i].p != p; i = (i + 1) & mask {
		if t.slots[i].p == nil {
			return
		}
	}
	backShift(t.slots, i, t.used, func(s *ptrSlot[P]) int { return int(s.hash >> t.shift) })
	t.n--
	if n := shrunkSize(t.n, len(t.slots)); n != len(t.slots) {
		t.slots, t.shift = rehash(t.slots, n, t.used, t.hash)
	}
}

// each calls fn for every entry, in no particular order.
func (t *ptrTable[T, P]) each(fn func(P)) {
	for _, s := range t.slots {
		if s.p != nil {
			fn(s.p)
		}
	}
}
