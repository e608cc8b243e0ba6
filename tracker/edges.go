package tracker

// Edge is one arc of the TCP state diagram (RFC 9293 figure 5) as the
// tracker can infer it.
type Edge struct{ From, To State }

// Edges lists every transition the tracker may record. It is the state
// diagram plus what a passive observer needs: UNKNOWN as the start of a
// connection picked up mid-stream, and the corrections that a retransmitted
// FIN forces (rule fin-retransmitted). The tracker's fuzz test checks every
// transition against this list.
var Edges = map[Edge]bool{
	// Opening.
	{Closed, SynSent}:          true, // active open
	{Listen, SynSent}:          true, // simultaneous open from an assumed listener
	{Listen, SynReceived}:      true, // passive open
	{Unknown, SynReceived}:     true, // SYN-ACK seen from a side picked up without its SYN
	{SynSent, SynReceived}:     true, // simultaneous open
	{SynSent, Established}:     true,
	{SynReceived, Established}: true,
	{Unknown, Established}:     true, // picked up mid-stream
	// Closing.
	{Established, FinWait1}:  true,
	{SynReceived, FinWait1}:  true,
	{Established, CloseWait}: true,
	{SynReceived, CloseWait}: true,
	{FinWait1, FinWait2}:     true,
	{FinWait1, Closing}:      true,
	{FinWait1, TimeWait}:     true, // the peer's FIN carried the ACK of ours
	{FinWait2, TimeWait}:     true,
	{Closing, TimeWait}:      true,
	{CloseWait, LastAck}:     true,
	{LastAck, Closed}:        true,
	{TimeWait, Closed}:       true, // 2*MSL timer, or a RST (RFC 1337)
	// Corrections: a retransmitted FIN shows the ACK seen never arrived.
	{Closed, LastAck}:    true,
	{FinWait2, FinWait1}: true,
}

func init() {
	// A RST closes a connection in any state.
	for s := Unknown; s < numStates; s++ {
		if s != Closed {
			Edges[Edge{s, Closed}] = true
		}
	}
}
