package tracker

// tombstones holds the tombstones of connections handed on with a side in
// TIME_WAIT, keyed by hashKey, in the order they were made: a FIFO of the
// tombstones themselves, in blocks that are reused once every tombstone in
// them has expired, and a small index map from key to sequence number.
// A map of 56-byte values had cost twice the memory, and one growing
// slice up to twice again: some 480,000 tombstones live at once at 8,000
// connections a second.
type tombstones struct {
	index  map[uint64]int64 // key → sequence number of its tombstone
	blocks [][]tombEntry    // blocks[0][0] has sequence number base
	base   int64
	head   int64 // the first tombstone not expired
	next   int64 // the sequence number of the next one
	spare  []tombEntry
	dels   int // index deletes since it was last rebuilt
}

// tombBlock is how many tombstones a block holds.
const tombBlock = 4096

type tombEntry struct {
	hash uint64
	p    past
}

func newTombstones() tombstones { return tombstones{index: make(map[uint64]int64)} }

func (ts *tombstones) len() int { return len(ts.index) }

func (ts *tombstones) at(seq int64) *tombEntry {
	i := seq - ts.base
	return &ts.blocks[i/tombBlock][i%tombBlock]
}

// get returns the tombstone of key hash h, if there is one.
func (ts *tombstones) get(h uint64) (past, bool) {
	seq, ok := ts.index[h]
	if !ok {
		return past{}, false
	}
	return ts.at(seq).p, true
}

// add makes a tombstone, replacing any of the same key.
func (ts *tombstones) add(h uint64, p past) {
	if ts.next-ts.base == int64(len(ts.blocks))*tombBlock {
		b := ts.spare
		ts.spare = nil
		if b == nil {
			b = make([]tombEntry, tombBlock)
		}
		ts.blocks = append(ts.blocks, b)
	}
	*ts.at(ts.next) = tombEntry{h, p}
	ts.index[h] = ts.next
	ts.next++
}

// forget deletes the tombstone of key hash h; its entry stays, unindexed,
// until it expires.
func (ts *tombstones) forget(h uint64) {
	delete(ts.index, h)
	ts.index = afterDelete(ts.index, &ts.dels)
}

// expire forgets the tombstones at the front whose time has come by now
// (Unix ns). A tombstone behind one that lasts longer waits for it:
// lookups compare until with the time themselves.
func (ts *tombstones) expire(now int64) {
	for ts.head < ts.next {
		e := ts.at(ts.head)
		if e.p.until > now {
			return
		}
		if seq, ok := ts.index[e.hash]; ok && seq == ts.head {
			ts.forget(e.hash)
		}
		ts.head++
		if ts.head-ts.base == tombBlock { // the first block is all expired
			b := ts.blocks[0]
			clear(b)
			ts.spare = b
			ts.blocks[0] = nil
			ts.blocks = ts.blocks[1:]
			ts.base += tombBlock
		}
	}
}
