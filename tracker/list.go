package tracker

// list is an intrusive doubly linked list of connections, through their
// prev and next fields: moving a connection costs a few pointer writes and
// no allocation.
type list struct {
	head, tail *Conn
}

// remove takes c out of the list; c need not be in it.
func (l *list) remove(c *Conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else if l.head == c {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else if l.tail == c {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// moveToBack puts c at the end of the list, adding it if needed.
func (l *list) moveToBack(c *Conn) {
	if l.tail == c {
		return
	}
	l.remove(c)
	c.prev = l.tail
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}
