package tracker

import "sync"

// This file is the anomaly catalog: every anomaly tcplens reports, as data.
// The README's anomaly table is this list; TestCatalogInREADME keeps them in
// step.

// Severity says how much an anomaly matters.
type Severity uint8

// Severities, in increasing order.
const (
	Info Severity = iota
	Warning
	Error
)

// ParseSeverity returns the severity String names, and false for any
// other text.
func ParseSeverity(name string) (Severity, bool) {
	for _, s := range [...]Severity{Info, Warning, Error} {
		if name == s.String() {
			return s, true
		}
	}
	return 0, false
}

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	}
	return "error"
}

// Kind describes one anomaly id.
type Kind struct {
	ID       string
	Severity Severity // the usual severity; some ids raise or lower it per case
	Trigger  string   // what the tracker saw
	Meaning  string   // what it usually means
	Action   string   // what to do about it
}

// Anomaly ids. They are stable: users match on them in CI.
const (
	AnomalySYNUnanswered         = "syn-unanswered"
	AnomalySYNRefused            = "syn-refused"
	AnomalyHandshakeIncomplete   = "handshake-incomplete"
	AnomalySYNRetransmitted      = "syn-retransmitted"
	AnomalySYNACKRetransmitted   = "synack-retransmitted"
	AnomalySimultaneousOpen      = "simultaneous-open"
	AnomalySimultaneousClose     = "simultaneous-close"
	AnomalyMissingFinalACK       = "missing-final-ack"
	AnomalyFINRetransmitted      = "fin-retransmitted"
	AnomalyCloseWaitStuck        = "close-wait-stuck"
	AnomalyFinWait2Stuck         = "fin-wait-2-stuck"
	AnomalyReuseInTimeWait       = "reuse-in-time-wait"
	AnomalyReuseWhileOpen        = "reuse-while-open"
	AnomalyTimeWaitAssassination = "time-wait-assassination"
	AnomalyRSTAbort              = "rst-abort"
	AnomalyRSTOutOfWindow        = "rst-out-of-window"
	AnomalyRSTChallengeACK       = "rst-challenge-ack"
	AnomalyDataAfterFIN          = "data-after-fin"
	AnomalyDataAfterRST          = "data-after-rst"
	AnomalyPartialStart          = "partial-start"
	AnomalyOpenAtEnd             = "open-at-end"
	AnomalyTableFull             = "table-full"

	// Data-path ids, one per finding of reassembly.Analyzer.
	AnomalyRetransmission         = "retransmission"
	AnomalyFastRetransmission     = "fast-retransmission"
	AnomalySpuriousRetransmission = "spurious-retransmission"
	AnomalyOutOfOrder             = "out-of-order"
	AnomalyLostSegment            = "lost-segment"
	AnomalyAckedUnseen            = "acked-unseen"
	AnomalyDuplicateACK           = "duplicate-ack"
	AnomalyZeroWindow             = "zero-window"
	AnomalyZeroWindowProbe        = "zero-window-probe"
	AnomalyWindowFull             = "window-full"
	AnomalyKeepAlive              = "keep-alive"
)

// Catalog lists every anomaly id, lifecycle ones first, then the data-path
// ones that the reassembly package classifies per segment.
// NumDataPathKinds is how many entries at the end of Catalog are data-path ids.
const NumDataPathKinds = 11

var Catalog = []Kind{
	{AnomalySYNUnanswered, Error, "a SYN (and its retransmissions) got no SYN-ACK or RST by the end of the capture or the OS connect timeout",
		"the server is down, a firewall drops the SYN, or the route is broken", "check that the service listens and that nothing on the path drops SYNs to the port"},
	{AnomalySYNRefused, Warning, "a RST answered a SYN",
		"nothing listens on the port (or a firewall rejects)", "check the service is running and the client uses the right port"},
	{AnomalyHandshakeIncomplete, Error, "the server sent a SYN-ACK that was never acknowledged: it was left half-open in SYN_RCVD",
		"the client never got the SYN-ACK, a SYN flood, or asymmetric routing", "look for loss or filtering on the server-to-client path; watch the server's SYN backlog"},
	{AnomalySYNRetransmitted, Warning, "the client sent its SYN more than once (same ISN); the text gives the count and the gaps",
		"SYNs or SYN-ACKs were lost, or the server's accept queue was full", "each retry costs the client 1 s, 2 s, 4 s...: look for loss or an overloaded listener"},
	{AnomalySYNACKRetransmitted, Warning, "the server sent its SYN-ACK more than once",
		"the SYN-ACK or the client's ACK was lost", "look for loss on the path between the two hosts"},
	{AnomalySimultaneousOpen, Info, "both sides sent a SYN before seeing the other's",
		"legal but rare: peer-to-peer hole punching, or a port collision", "nothing, unless it was not expected"},
	{AnomalySimultaneousClose, Info, "both sides sent FIN before acknowledging the other's (a side went through CLOSING)",
		"legal but rare: both applications closed at once", "nothing; both sides go through TIME_WAIT"},
	{AnomalyMissingFinalACK, Warning, "the side in LAST_ACK did not see its FIN acknowledged (no ACK seen, the FIN retransmitted, or the capture ended), or saw the ACK only after retransmitting its FIN; the text says which",
		"the final ACK was lost or filtered, or the active closer vanished", "the passive closer holds the socket until its FIN retransmissions give up; look for loss or a middlebox dropping late ACKs"},
	{AnomalyFINRetransmitted, Warning, "a side sent its FIN more than once",
		"the FIN or its ACK was lost", "look for loss near the end of connections"},
	{AnomalyCloseWaitStuck, Error, "a side acknowledged the peer's FIN but did not send its own FIN within the close-wait threshold (default 5 s, --close-wait) while the capture went on",
		"the application is not closing its socket: it may be leaking sockets", "find where the application handles EOF on this connection and make it close the socket"},
	{AnomalyFinWait2Stuck, Warning, "a side sat in FIN_WAIT_2 longer than the OS profile's FIN_WAIT_2 timeout (Linux 60 s): the peer never closed",
		"the peer's application is not closing (the other side of close-wait-stuck)", "look at the peer's application; the local kernel will drop the socket after the timeout"},
	{AnomalyReuseInTimeWait, Warning, "a new SYN on a 4-tuple whose previous connection still had a side in TIME_WAIT (within 2*MSL of capture time); error if RFC 6191 / RFC 1122 4.2.2.13 would reject it (the new ISN not above the old connection's last sequence number and no greater timestamp)",
		"the client reuses source ports quickly (SO_REUSEADDR, tcp_tw_reuse, a NAT, a small port range)", "widen the ephemeral port range or keep connections open (pooling); make sure timestamps are on"},
	{AnomalyReuseWhileOpen, Error, "a SYN with a new ISN on a 4-tuple whose connection was not closed",
		"a port collision, a NAT mapping reused, or a peer that restarted and lost its connection", "check NAT timeouts and whether a host restarted"},
	{AnomalyTimeWaitAssassination, Warning, "a RST ended a TIME_WAIT (RFC 1337)",
		"an old duplicate or a late RST cut TIME_WAIT short; a new connection on the 4-tuple could now receive old segments", "usually harmless; RFC 1337 stacks ignore such RSTs"},
	{AnomalyRSTAbort, Warning, "an acceptable RST in ESTABLISHED or CLOSE_WAIT (an abortive close); the text gives the side and both states",
		"an application closed with SO_LINGER 0, closed with unread data, crashed, or a middlebox reset the connection", "check the application that sent it and any firewall or load balancer on the path"},
	{AnomalyRSTOutOfWindow, Warning, "a RST whose sequence number is outside the receiver's window (RFC 5961): ignored for state",
		"a late RST for an old connection, or an injected (spoofed) RST", "if frequent, look for RST injection on the path"},
	{AnomalyRSTChallengeACK, Info, "a RST in the window but not at the exact next sequence number: an RFC 5961 stack (Linux) answers with a challenge ACK instead of resetting",
		"a RST crossing data in flight, or a blind reset attempt", "nothing, unless the connection then hangs"},
	{AnomalyDataAfterFIN, Error, "a side sent new data beyond its own FIN",
		"a broken TCP stack or middlebox", "capture closer to the sender and report it to the stack's vendor"},
	{AnomalyDataAfterRST, Warning, "segments with data after the connection was reset",
		"data in flight when the RST was sent, or a peer that ignores RSTs", "usually harmless if it stops quickly"},
	{AnomalyPartialStart, Info, "the connection's opening was not captured: its states before the first packet are inferred",
		"the capture started after the connection opened", "start the capture earlier to see the handshake"},
	{AnomalyOpenAtEnd, Info, "the connection was still open when the capture ended",
		"a long-lived connection, or the capture stopped early", "nothing, unless it should have closed"},
	{AnomalyTableFull, Warning, "the connection table was full (sniff --max-conns) and this connection, the longest idle, was evicted before it finished",
		"a SYN flood or scan, or far more concurrent connections than the limit", "raise --max-conns if memory allows, or filter the capture (-f) to the traffic of interest"},

	{AnomalyRetransmission, Warning, "a segment carried data (or SYN/FIN) its sender had already sent (tcp.analysis.retransmission; counts fast and spurious ones too)",
		"loss between the two hosts, or a retransmission timer that fired too early", "look for loss on the path (drops, a full queue, a bad link); compare with the sender's TcpRetransSegs"},
	{AnomalyFastRetransmission, Warning, "a retransmission of the sequence number the receiver asked for with two or more duplicate ACKs, within 20 ms of the last one",
		"a segment was lost and recovered by fast retransmit / SACK recovery, without a timeout", "look for loss on the path; fast recovery is the cheap way to recover"},
	{AnomalySpuriousRetransmission, Info, "a retransmission of data the receiver had already acknowledged",
		"the sender's retransmission timer or tail-loss probe fired before the ACK arrived: delayed ACKs, a jump in RTT, or ACK loss", "usually harmless; if frequent, look for ACK loss or a very variable RTT"},
	{AnomalyOutOfOrder, Warning, "a segment below the highest sequence number already sent, seen within one handshake round-trip time (3 ms without one)",
		"reordering on the path (multipath, link aggregation) or a retransmission filling a hole", "look for ECMP / LAG hashing or per-packet load balancing"},
	{AnomalyLostSegment, Warning, "a segment started beyond the next expected sequence number: data before it was not captured (\"previous segment not captured\")",
		"loss before the capture point, or the capture dropped packets", "capture closer to the sender, or look for loss upstream of the capture point"},
	{AnomalyAckedUnseen, Info, "a segment acknowledged data the capture never saw (tcp.analysis.ack_lost_segment): the capture, not the network, missed packets; states may be incomplete",
		"the capture dropped packets (a busy capture host, snaplen or ring too small, mirror port overload) or traffic took another path", "trust the connection's states less; give the capture more buffer (-B) or capture on a quieter point"},
	{AnomalyDuplicateACK, Info, "an empty segment repeated the sender's previous ACK number and window",
		"the receiver got a segment beyond a hole: data was lost or reordered on the way to it", "look at the other side's retransmissions; many duplicate ACKs without retransmissions mean reordering"},
	{AnomalyZeroWindow, Warning, "a side advertised a zero receive window; the text gives the longest stall",
		"the receiving application did not read fast enough, or its buffer filled with out-of-order data", "look at the receiving application (slow consumer, blocked thread) or raise its receive buffer"},
	{AnomalyZeroWindowProbe, Info, "a side sent one byte at the next sequence number while the peer's window was zero",
		"the sender is waiting for the peer's window to open (persist timer)", "see zero-window on the peer"},
	{AnomalyWindowFull, Info, "a segment filled the receiver's advertised window",
		"the receiver's window, not the network, limited throughput", "raise the receiver's buffer (or enable window scaling) if throughput matters"},
	{AnomalyKeepAlive, Info, "a side sent zero or one byte at one less than the next sequence number (Linux's zero-window probes look the same)",
		"TCP keep-alive on an idle connection, or a zero-window probe", "nothing; many of them on a connection with a zero window mean a stalled reader"},
}

// KindOf returns the catalog entry for an id.
func KindOf(id string) (Kind, bool) {
	if i, ok := CatalogPlace(id); ok {
		return Catalog[i], true
	}
	return Kind{}, false
}

// CatalogPlace returns the index of id's entry in Catalog, by which
// anomalies are listed.
func CatalogPlace(id string) (int, bool) {
	i, ok := catalogPlaces()[id]
	return i, ok
}

var catalogPlaces = sync.OnceValue(func() map[string]int {
	m := make(map[string]int, len(Catalog))
	for i, k := range Catalog {
		m[k.ID] = i
	}
	return m
})
