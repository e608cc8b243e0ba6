package tracker

import (
	"math/bits"

	"github.com/tcplens/tcplens/capture"
)

// connTable holds the connections in memory by the 64-bit hash of their
// key (hashKey): open addressing with linear probing, the hash kept in the
// slot beside the connection so that a probe reads no connection but the
// one it finds. A slot's home is the top bits of the hash: a Sharded's
// workers each get the keys of one residue of the hash, which low bits
// would crowd into a fraction of the slots. Deleting moves back the slots
// that would be cut off from their home, so nothing is left behind for
// lookups to probe past: Go's maps leave a tombstone in the slot, and with
// a connection created and deleted every dozen packets their probe
// sequences grew until lookups took a sixth of the run, unless the map was
// copied now and then.
type connTable struct {
	slots []connSlot // a power of two long; at most half full
	shift uint       // 64 - log2(len(slots))
	n     int
}

type connSlot struct {
	hash uint64
	c    *Conn // nil: empty
}

// minConnSlots is the table's smallest size.
const minConnSlots = 1024

func newConnTable() connTable {
	var ct connTable
	ct.resize(minConnSlots)
	return ct
}

func (ct *connTable) resize(n int) {
	old := ct.slots
	ct.slots = make([]connSlot, n)
	ct.shift = uint(64 - bits.TrailingZeros(uint(n)))
	for _, s := range old {
		if s.c != nil {
			ct.insert(s)
		}
	}
}

func (ct *connTable) insert(s connSlot) {
	mask := uint64(len(ct.slots) - 1)
	for i := s.hash >> ct.shift; ; i = (i + 1) & mask {
		if ct.slots[i].c == nil {
			ct.slots[i] = s
			return
		}
	}
}

func (ct *connTable) len() int { return ct.n }

// get returns the connection of key k, whose hash is h, or nil.
func (ct *connTable) get(h uint64, k *capture.Key) *Conn {
	mask := uint64(len(ct.slots) - 1)
	for i := h >> ct.shift; ; i = (i + 1) & mask {
		s := &ct.slots[i]
		if s.c == nil {
			return nil
		}
		if s.hash == h && s.c.Key == *k {
			return s.c
		}
	}
}

// put adds c, whose key is not in the table and hashes to h.
func (ct *connTable) put(h uint64, c *Conn) {
	c.hash = h
	if 2*(ct.n+1) > len(ct.slots) {
		ct.resize(2 * len(ct.slots))
	}
	ct.insert(connSlot{h, c})
	ct.n++
}

// remove deletes c if it is in the table.
func (ct *connTable) remove(c *Conn) {
	mask := len(ct.slots) - 1
	i := int(c.hash >> ct.shift)
	for ; ct.slots[i].c != c; i = (i + 1) & mask {
		if ct.slots[i].c == nil {
			return
		}
	}
	backShift(ct.slots, i, func(s *connSlot) bool { return s.c != nil }, func(s *connSlot) int { return int(s.hash >> ct.shift) })
	ct.n--
	if len(ct.slots) > minConnSlots && 8*ct.n < len(ct.slots) {
		ct.resize(len(ct.slots) / 2) // after a burst of connections
	}
}

// backShift empties slot i of a linear-probing table (a power of two
// long) whose used slots are those used reports, each at home (the slot
// its probe sequence begins at) or after it: it moves back into the gap
// each slot after it whose probe sequence would pass the gap, so that no
// marker is left for lookups to probe past (backward-shift deletion).
func backShift[S any](slots []S, i int, used func(*S) bool, home func(*S) int) {
	mask := len(slots) - 1
	for j := i; ; {
		j = (j + 1) & mask
		if !used(&slots[j]) {
			break
		}
		// Slot j stays if its home is cyclically in (i, j].
		if h := home(&slots[j]); i <= j && i < h && h <= j || i > j && (i < h || h <= j) {
			continue
		}
		slots[i] = slots[j]
		i = j
	}
	var empty S
	slots[i] = empty
}

// each calls fn for every connection, in no particular order.
func (ct *connTable) each(fn func(*Conn)) {
	for _, s := range ct.slots {
		if s.c != nil {
			fn(s.c)
		}
	}
}
