package tracker

import "math/bits"

// The connection table, the parked connections, the tombstone index and a
// Sharded's ids are open-addressing tables with linear probing: a power of
// two long, at most half full, each used slot at its home (the top bits of
// its hash: a Sharded's workers each get the keys of one residue of the
// hash, which low bits would crowd into a fraction of the slots) or after
// it. Deleting moves back the slots that would be cut off from their home,
// so nothing is left behind for lookups to probe past: Go's maps leave a
// tombstone in the slot, and with an entry created and deleted every dozen
// packets their probe sequences grew until lookups took a sixth of the
// run, unless the map was copied now and then. These are what the tables
// share; used reports whether a slot holds something, hash its hash.

// minSlots is the tables' smallest size.
const minSlots = 1024

// grownSize is the size a table of size slots must have before its n-th
// used slot is added: twice as large when more than half would be used.
func grownSize(n, size int) int {
	if 2*n > size {
		return max(minSlots, 2*size)
	}
	return size
}

// shrunkSize is the size a table of size slots should have once n are
// used: half as large when fewer than an eighth are (after a burst).
func shrunkSize(n, size int) int {
	if size > minSlots && 8*n < size {
		return size / 2
	}
	return size
}

// rehash returns a table of n slots (a power of two) holding old's used
// slots, and its shift (64 - log2 n: a hash's home is hash >> shift).
func rehash[S any](old []S, n int, used func(*S) bool, hash func(*S) uint64) ([]S, uint) {
	slots := make([]S, n)
	shift := uint(64 - bits.TrailingZeros(uint(n)))
	for k := range old {
		if used(&old[k]) {
			slots[free(slots, int(hash(&old[k])>>shift), used)] = old[k]
		}
	}
	return slots, shift
}

// free returns the first slot from i on that is not used.
func free[S any](slots []S, i int, used func(*S) bool) int {
	mask := len(slots) - 1
	for used(&slots[i]) {
		i = (i + 1) & mask
	}
	return i
}

// backShift empties slot i: it moves back into the gap each slot after it
// whose probe sequence would pass the gap (backward-shift deletion).
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
