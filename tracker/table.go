package tracker

import "github.com/tcplens/tcplens/capture"

// connTable holds the connections in memory by the 64-bit hash of their
// key (hashKey), the rare keys that share a hash chained through
// Conn.sameHash. Its slots are 16 bytes where a map keyed by the 40-byte
// key had 48: a lookup touches fewer cache lines, and the key itself is
// compared in the connection, which is read next anyway.
type connTable struct {
	m    map[uint64]*Conn
	n    int
	dels int // deletes since m was last rebuilt
}

func newConnTable() connTable { return connTable{m: make(map[uint64]*Conn)} }

func (ct *connTable) len() int { return ct.n }

// get returns the connection of key k, whose hash is h, or nil.
func (ct *connTable) get(h uint64, k *capture.Key) *Conn {
	for c := ct.m[h]; c != nil; c = c.sameHash {
		if c.Key == *k {
			return c
		}
	}
	return nil
}

// put adds c, whose key is not in the table and hashes to h.
func (ct *connTable) put(h uint64, c *Conn) {
	c.hash, c.sameHash = h, ct.m[h]
	ct.m[h] = c
	ct.n++
}

// remove deletes c if it is in the table.
func (ct *connTable) remove(c *Conn) {
	first := ct.m[c.hash]
	if first == c {
		if c.sameHash != nil {
			ct.m[c.hash] = c.sameHash
		} else {
			delete(ct.m, c.hash)
			ct.m = afterDelete(ct.m, &ct.dels)
		}
		c.sameHash = nil
		ct.n--
		return
	}
	for p := first; p != nil; p = p.sameHash {
		if p.sameHash == c {
			p.sameHash = c.sameHash
			c.sameHash = nil
			ct.n--
			return
		}
	}
}

// each calls fn for every connection, in no particular order.
func (ct *connTable) each(fn func(*Conn)) {
	for _, first := range ct.m {
		for c := first; c != nil; c = c.sameHash {
			fn(c)
		}
	}
}
