// Package reassembly keeps the sequence space of each direction of a TCP
// connection as a passive observer sees it: the initial sequence number,
// the next sequence number the sender will use, the FIN's sequence number,
// the highest acknowledgment it has sent and its advertised window. The
// tracker asks it the questions state inference depends on: does this ACK
// cover the peer's SYN or FIN, is this RST's sequence number in the
// receiver's window, is this FIN a retransmission.
//
// It never owns connection states. A zero Direction is a direction from
// which nothing has been seen; it allocates nothing. Sequence numbers are
// compared modulo 2^32 (RFC 9293 section 3.4).
package reassembly
