package tracker

// tombstones holds the tombstones of connections handed on with a side in
// TIME_WAIT, keyed by hashKey, in the order they were made: a FIFO ring of
// the tombstones themselves and a small index map from key to position.
// A map of 56-byte values had cost twice the memory (some 87 MB for the
// 480,000 tombstones of a minute at 8,000 connections a second).
type tombstones struct {
	index map[uint64]int64 // key → sequence number of its tombstone
	ring  []tombEntry      // ring[i] has sequence number base+i
	head  int              // ring[:head] have expired
	base  int64
	dels  int // index deletes since it was last rebuilt
}

type tombEntry struct {
	hash uint64
	p    past
}

func newTombstones() tombstones { return tombstones{index: make(map[uint64]int64)} }

func (ts *tombstones) len() int { return len(ts.index) }

// get returns the tombstone of key hash h, if there is one.
func (ts *tombstones) get(h uint64) (past, bool) {
	seq, ok := ts.index[h]
	if !ok {
		return past{}, false
	}
	return ts.ring[seq-ts.base].p, true
}

// add makes a tombstone, replacing any of the same key.
func (ts *tombstones) add(h uint64, p past) {
	if ts.head > 0 && ts.head >= len(ts.ring)/2 {
		n := copy(ts.ring, ts.ring[ts.head:])
		clear(ts.ring[n:])
		ts.ring = ts.ring[:n]
		ts.base += int64(ts.head)
		ts.head = 0
	}
	ts.index[h] = ts.base + int64(len(ts.ring))
	ts.ring = append(ts.ring, tombEntry{h, p})
}

// forget deletes the tombstone of key hash h; its entry in the ring
// stays, unindexed, until it expires.
func (ts *tombstones) forget(h uint64) {
	delete(ts.index, h)
	// Go's maps leave a tombstone of their own in a slot freed in a full
	// group, which lookups probe past: rebuilt after 4×len deletes.
	ts.dels++
	if ts.dels > 4*len(ts.index)+4096 {
		m := make(map[uint64]int64, len(ts.index))
		for k, v := range ts.index {
			m[k] = v
		}
		ts.index, ts.dels = m, 0
	}
}

// expire forgets the tombstones at the front of the ring whose time has
// come by now (Unix ns). A tombstone behind one that lasts longer waits
// for it: lookups compare until with the time themselves.
func (ts *tombstones) expire(now int64) {
	for ts.head < len(ts.ring) && ts.ring[ts.head].p.until <= now {
		e := &ts.ring[ts.head]
		if seq, ok := ts.index[e.hash]; ok && seq == ts.base+int64(ts.head) {
			ts.forget(e.hash)
		}
		ts.head++
	}
}
