// Package tracker owns TCP connections: it groups segments by 4-tuple and
// VLAN into connections, one per incarnation, and infers both endpoints'
// RFC 9293 states from what a passive observer sees.
//
// An endpoint's state changes when it is seen sending a segment that only a
// socket in the new state would send (SYN, SYN-ACK, the ACK of the peer's
// SYN or FIN, a FIN, a RST), and when a segment to it is seen that it must
// act on (the ACK of its own SYN or FIN, an acceptable RST). Every
// transition records the frame, the time and the rule that caused it.
//
// Contracts:
//   - Track is called with segments in capture order. Tracking a segment of
//     an existing connection allocates nothing unless a state changes.
//   - Connections are handed to the emit function as soon as nothing more
//     can happen to them (both sides closed, 2*MSL of capture time after
//     TIME_WAIT, or the idle timeout), and at Flush for the rest; after
//     that the tracker never touches them again.
//   - A Tracker is not safe for concurrent use.
package tracker
