package tracker

// tombstones holds the tombstones of connections handed on with a side in
// TIME_WAIT, keyed by hashKey, in the order they were made: a FIFO of the
// tombstones themselves, in blocks that are reused once every tombstone in
// them has expired, and an index from key to sequence number (a
// linear-probing table of 4-byte slots, see probe.go). Some 450,000
// tombstones live at once at 8,000 connections a second: a map of 56-byte
// values cost twice the memory of the blocks, and a map[uint64]int64 index
// some 20 MB, twice that while it was copied to shed the tombstones its
// deletes left; this index costs 4 MB.
type tombstones struct {
	index  []uint32 // 0: empty; else seqSlot of an indexed tombstone
	shift  uint     // 64 - log2(len(index))
	n      int      // tombstones indexed
	blocks [][]tombEntry
	base   int64 // blocks[0][0] has sequence number base
	head   int64 // the first tombstone not expired
	next   int64 // the sequence number of the next one
	spare  []tombEntry
}

// tombBlock is how many tombstones a block holds.
const tombBlock = 4096

// seqMod is the modulus of the sequence numbers kept in index slots: the
// tombstones not yet expired are fewer, so a slot names one of them.
const seqMod = 1<<32 - 1

type tombEntry struct {
	hash uint64
	p    past
}

func (ts *tombstones) len() int { return ts.n }

func (ts *tombstones) at(seq int64) *tombEntry {
	i := seq - ts.base
	return &ts.blocks[i/tombBlock][i%tombBlock]
}

func seqSlot(seq int64) uint32 { return uint32(seq%seqMod) + 1 }

// slotSeq is the sequence number of a slot's tombstone, one of head to next.
func (ts *tombstones) slotSeq(v uint32) int64 {
	return ts.head + (int64(v-1)-ts.head%seqMod+seqMod)%seqMod
}

// find returns the index of the slot of key hash h, or of the empty slot
// that ends its probe sequence.
func (ts *tombstones) find(h uint64) (int, bool) {
	mask := uint64(len(ts.index) - 1)
	for i := h >> ts.shift; ; i = (i + 1) & mask {
		v := ts.index[i]
		if v == 0 {
			return int(i), false
		}
		if ts.at(ts.slotSeq(v)).hash == h {
			return int(i), true
		}
	}
}

// slotOf returns the index of the slot of the tombstone with sequence
// number seq, whose key hashes to h, if it is indexed: it compares the
// slots with seq's and reads no tombstone (a live sequence number has one
// slot value, as fewer than seqMod are live).
func (ts *tombstones) slotOf(h uint64, seq int64) (int, bool) {
	mask := uint64(len(ts.index) - 1)
	want := seqSlot(seq)
	for i := h >> ts.shift; ; i = (i + 1) & mask {
		switch ts.index[i] {
		case 0:
			return 0, false
		case want:
			return int(i), true
		}
	}
}

// get returns the tombstone of key hash h, if there is one.
func (ts *tombstones) get(h uint64) (past, bool) {
	if ts.n == 0 {
		return past{}, false
	}
	if i, ok := ts.find(h); ok {
		return ts.at(ts.slotSeq(ts.index[i])).p, true
	}
	return past{}, false
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
	seq := ts.next
	*ts.at(seq) = tombEntry{h, p}
	ts.next++
	if n := grownSize(ts.n+1, len(ts.index)); n != len(ts.index) {
		ts.index, ts.shift = rehash(ts.index, n, tombUsed, ts.hashOf)
	}
	i, ok := ts.find(h)
	if !ok {
		ts.n++
	}
	ts.index[i] = seqSlot(seq)
}

func tombUsed(v *uint32) bool { return *v != 0 }

// hashOf is the hash of the key of the tombstone in index slot v.
func (ts *tombstones) hashOf(v *uint32) uint64 { return ts.at(ts.slotSeq(*v)).hash }

// forget deletes the tombstone of key hash h; its entry stays, unindexed,
// until it expires.
func (ts *tombstones) forget(h uint64) {
	if ts.n == 0 {
		return
	}
	if i, ok := ts.find(h); ok {
		ts.remove(i)
	}
}

// remove empties slot i.
func (ts *tombstones) remove(i int) {
	backShift(ts.index, i, tombUsed, func(v *uint32) int { return int(ts.hashOf(v) >> ts.shift) })
	ts.n--
	if n := shrunkSize(ts.n, len(ts.index)); n != len(ts.index) {
		ts.index, ts.shift = rehash(ts.index, n, tombUsed, ts.hashOf)
	}
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
		if ts.n > 0 {
			if i, ok := ts.slotOf(e.hash, ts.head); ok {
				ts.remove(i)
			}
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
