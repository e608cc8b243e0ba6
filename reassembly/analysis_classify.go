package reassembly

import (
	"math"
	"time"

	"github.com/tcplens/tcplens/capture"
)

// Wireshark's fixed thresholds (epan/dissectors/packet-tcp.c).
const (
	// fastRetransmitWindow: a fast retransmission follows the receiver's
	// last duplicate ACK by less than this many nanoseconds.
	fastRetransmitWindow = 20_000_000
	// defaultOutOfOrderThreshold replaces the handshake round-trip time
	// when none was measured.
	defaultOutOfOrderThreshold = 3_000_000
)

// Window scale states, as Wireshark keeps them in tcp_flow_t.win_scale.
const (
	scaleUnknown = -1 // no SYN seen: scaling unknown, windows left unscaled
	scaleNone    = -2 // the handshake showed that scaling is not used
)

// flow is what Wireshark keeps about one direction of a connection
// (tcp_flow_t and its tcp_analyze_seq_flow_info_t), less the lists that only
// serve RTT, RTO and bytes-in-flight reporting.
//
// Like Wireshark, nextSeq, maxSeqToBeAcked and lastAck use the value 0 for
// "not known yet": a connection whose sequence numbers pass through 0 is
// analysed as Wireshark analyses it, quirks included.
type flow struct {
	baseSeq    uint32 // ISN, or one less than the first sequence number seen
	baseSeqSet bool

	nextSeq         uint32 // one past the highest sequence number sent; 0: unknown
	nextSeqTime     int64  // capture time (Unix ns) when nextSeq last moved
	maxSeqToBeAcked uint32 // highest in-order sequence number; 0: unknown
	lastAck         uint32 // ACK field of the last segment (even without the ACK bit)
	lastAckTime     int64
	window          uint32 // last window field, unscaled; MaxUint32 before any segment
	winScale        int8   // shift count, scaleUnknown or scaleNone
	isFirstAck      bool   // a SYN was sent and no ACK without SYN since
	dupAcks         int    // duplicate ACKs in a row; -1: an ACKed-unseen gap was flagged
	lastFlags       Flags  // findings of the last segment sent
}

// Analyzer holds both directions' analysis state of one connection, as
// Wireshark's TCP dissector keeps it per conversation (struct tcp_analysis).
// Its zero value is ready to use; it holds no pointers and never allocates.
//
// An Analyzer is not safe for concurrent use.
type Analyzer struct {
	flows   [2]flow
	started bool  // flows have their initial values
	synTime int64 // capture time of the last SYN without ACK; 0: none
	// firstRTT is the handshake round-trip time: from the last SYN to the
	// first ACK without SYN after it; 0: not measured.
	firstRTT int64
	restarts int
}

// Reset forgets everything, as if no segment had been seen.
func (a *Analyzer) Reset() { *a = Analyzer{} }

// Restarts returns how many times a SYN with a new initial sequence number
// made Classify start the analysis afresh (Wireshark's
// tcp.analysis.reused_ports, which starts a new tcp.stream).
func (a *Analyzer) Restarts() int { return a.restarts }

// FirstRTT returns the handshake round-trip time that the out-of-order
// test uses (Wireshark's tcp.analysis.initial_rtt), 0 if none was measured.
func (a *Analyzer) FirstRTT() time.Duration { return time.Duration(a.firstRTT) }

func (a *Analyzer) start() {
	restarts := a.restarts
	*a = Analyzer{started: true, restarts: restarts}
	for i := range a.flows {
		a.flows[i].window = math.MaxUint32
		a.flows[i].winScale = scaleUnknown
	}
}

// Classify analyses segment s sent by direction dir (0 or 1; any other
// value counts as 1) and returns its flags. Call it in capture order for
// every segment of the connection, SYN, FIN and RST included: every segment
// moves the state. It never allocates.
//
// It follows Wireshark's dissect_tcp and tcp_analyze_sequence_number with
// default preferences (window scaling "not known", fast retransmission
// taking precedence over out-of-order), quirks included, so its counts are
// comparable with Wireshark's. Where Wireshark versions differ it follows
// tshark 4.0, which the package's differential test runs: an ACK beyond
// the data seen is ACKed-unseen if the peer has sent more since the last
// such finding, or else once until the peer sends a new ACK number (the
// current source compares the two marks the other way round).
//
// Where it deliberately differs:
//
//   - Wireshark stops recording unacknowledged segments after 10,000 of
//     them in one direction, and a SYN or FIN sent past that limit no longer
//     counts one sequence number. That is a memory guard, not analysis;
//     here SYN and FIN always count, so no per-segment list is needed.
//   - Recent Wireshark ignores duplicate ACKs that carry new MPTCP options;
//     MPTCP is not decoded here, so they are flagged.
//   - Wireshark restarts the analysis on a SYN without ACK whose sequence
//     number differs from the sender's first one, whether or not the
//     connection was closed; so does Classify (see Restarts), rather than
//     leave it to the caller, so that one Analyzer per 4-tuple matches
//     tshark's tcp.stream. Which segments make one conversation stays the
//     caller's choice: Wireshark keys conversations on addresses and ports,
//     not VLANs, and it analyses IP fragments once reassembled, which
//     capture does not decode.
func (a *Analyzer) Classify(s *capture.Segment, dir int) Flags {
	if dir != 0 {
		dir = 1
	}
	if !a.started {
		a.start()
	}
	syn := s.Flags&capture.SYN != 0
	ack := s.Flags&capture.ACK != 0
	now := s.Time.UnixNano()

	// Port reuse, before the analysis (dissect_tcp).
	fwd := &a.flows[dir]
	switch {
	case syn && !ack && fwd.baseSeqSet && s.Seq != fwd.baseSeq:
		a.restarts++
		a.start()
	case syn && !ack && fwd.baseSeqSet:
		// A retransmitted SYN: Wireshark restores nextSeq in case an
		// earlier RST moved it (its issue 17616).
		fwd.nextSeq = fwd.maxSeqToBeAcked
	case syn && ack && fwd.baseSeqSet && s.Seq != fwd.baseSeq:
		fwd.baseSeq = s.Seq
	}
	fwd, rev := &a.flows[dir], &a.flows[1-dir]

	f := a.analyze(s, fwd, rev, now)

	// After the analysis, as dissect_tcp does it.
	if syn {
		if !ack {
			a.synTime = now
		}
		fwd.isFirstAck = true
	}
	if ack && !syn {
		if a.synTime != 0 && a.firstRTT == 0 {
			a.firstRTT = now - a.synTime
		}
		fwd.isFirstAck = false
	}
	if s.WindowScale >= 0 { // Wireshark stores the option from any segment
		fwd.winScale = s.WindowScale
	}
	if syn {
		verifyWindowScaling(ack, fwd, rev)
	}

	if f.Has(FastRetransmission) || f.Has(SpuriousRetransmission) {
		f |= Retransmission
	}
	return f
}

// verifyWindowScaling is Wireshark's verify_tcp_window_scaling, run for
// every SYN: scaling is used only if both SYNs carried the option.
func verifyWindowScaling(synAck bool, fwd, rev *flow) {
	switch {
	case fwd.winScale == scaleUnknown:
		fwd.winScale, rev.winScale = scaleNone, scaleNone
	case synAck && rev.winScale == scaleNone:
		fwd.winScale = scaleNone
	}
}

// analyze is tcp_analyze_sequence_number, step by step and in the same
// order, for the flags it sets.
func (a *Analyzer) analyze(s *capture.Segment, fwd, rev *flow, now int64) Flags {
	var f Flags
	seq, ackNo := s.Seq, s.Ack
	seglen := uint32(s.PayloadLen)
	window := uint32(s.Window)
	syn := s.Flags&capture.SYN != 0
	synFinRst := s.Flags&(capture.SYN|capture.FIN|capture.RST) != 0
	synFin := s.Flags&(capture.SYN|capture.FIN) != 0

	if !fwd.baseSeqSet {
		fwd.baseSeq, fwd.baseSeqSet = seq-1, true
		if syn {
			fwd.baseSeq = seq
		}
	}
	if !rev.baseSeqSet && s.Flags&capture.ACK != 0 {
		rev.baseSeq, rev.baseSeqSet = ackNo-1, true
	}

	// repeatsLast: an empty segment at the next sequence number repeating
	// the sender's last ACK number, the shape of the ACK-only findings.
	repeatsLast := seglen == 0 && seq == fwd.nextSeq && ackNo == fwd.lastAck && !synFinRst

	if seglen == 1 && seq == fwd.nextSeq && rev.window == 0 {
		f |= ZeroWindowProbe
		goto finishedFwd
	}
	if window == 0 && !synFinRst {
		f |= ZeroWindow
	}
	if fwd.nextSeq != 0 && SeqGT(seq, fwd.nextSeq) && s.Flags&capture.RST == 0 {
		f |= LostSegment
	}
	if seglen <= 1 && seq == fwd.nextSeq-1 && !synFinRst {
		f |= KeepAlive
	}
	if repeatsLast && window != 0 && window != fwd.window {
		f |= WindowUpdate
	}
	if seglen > 0 && rev.winScale != scaleUnknown && !synFinRst {
		shift := uint(0)
		if !rev.isFirstAck && rev.winScale != scaleNone {
			shift = uint(rev.winScale)
		}
		if seq+seglen == rev.lastAck+rev.window<<shift {
			f |= WindowFull
		}
	}
	if repeatsLast && window != 0 && window == fwd.window && rev.lastFlags.Has(KeepAlive) {
		f |= KeepAliveAck
		goto finishedFwd
	}
	if repeatsLast && window == 0 && window == fwd.window && rev.lastFlags.Has(ZeroWindowProbe) {
		f |= ZeroWindowProbeAck
		goto finishedFwd
	}
	if repeatsLast && window != 0 && window == fwd.window {
		if fwd.dupAcks == -1 {
			fwd.dupAcks = 1
		} else {
			fwd.dupAcks++
		}
		f |= DuplicateAck
	}

finishedFwd:
	if ackNo != fwd.lastAck {
		fwd.dupAcks = 0
	}

	if rev.maxSeqToBeAcked != 0 && SeqGT(ackNo, rev.maxSeqToBeAcked) && s.Flags&capture.ACK != 0 {
		if SeqLT(rev.maxSeqToBeAcked, rev.nextSeq) {
			// The peer sent data since: flag, and move the mark so
			// that this gap is not flagged again.
			rev.maxSeqToBeAcked = rev.nextSeq
			f |= AckedUnseen
		} else {
			// The peer sent no data since: flag once, until the peer
			// sends a new ACK number (Wireshark keeps this mark in the
			// peer's duplicate-ACK count).
			if rev.dupAcks == 0 {
				f |= AckedUnseen
			}
			rev.dupAcks = -1
		}
	}

	if seglen > 0 || synFin {
		f |= a.retransmission(s, fwd, rev, f, now)
	}

	nextSeq := seq + seglen
	if synFin {
		nextSeq++
	}
	if (SeqGT(nextSeq, fwd.nextSeq) || fwd.nextSeq == 0) && !f.Has(ZeroWindowProbe) {
		fwd.nextSeq, fwd.nextSeqTime = nextSeq, now
	}
	if (seq == fwd.maxSeqToBeAcked || fwd.maxSeqToBeAcked == 0) && !f.Has(ZeroWindowProbe) {
		fwd.maxSeqToBeAcked = fwd.nextSeq
	}
	fwd.window = window
	fwd.lastAck, fwd.lastAckTime = ackNo, now
	fwd.lastFlags = f
	return f
}

// retransmission is the part of tcp_analyze_sequence_number that tells
// spurious, fast and plain retransmissions and out-of-order segments apart,
// for a segment that occupies sequence space. f is what the segment was
// found to be so far.
func (a *Analyzer) retransmission(s *capture.Segment, fwd, rev *flow, f Flags, now int64) Flags {
	if f.Has(KeepAlive) {
		return 0
	}
	seq, seglen := s.Seq, uint32(s.PayloadLen)
	notAdvanced := fwd.nextSeq != 0 && SeqLT(seq, fwd.nextSeq)
	// More than one byte starting one below nextSeq adds new data (the byte
	// below may have been a zero window probe).
	if seglen > 1 && fwd.nextSeq-1 == seq {
		notAdvanced = false
	}

	if seglen > 0 && rev.lastAck != 0 && !SeqGT(seq+seglen, rev.lastAck) {
		return SpuriousRetransmission
	}

	// The time differences are unsigned in Wireshark: a capture clock that
	// goes backwards makes them huge.
	sinceAck := uint64(now - rev.lastAckTime)
	if notAdvanced && rev.dupAcks >= 2 && rev.lastAck == seq && sinceAck < fastRetransmitWindow {
		return FastRetransmission
	}

	sinceNext := uint64(now - fwd.nextSeqTime)
	threshold := uint64(defaultOutOfOrderThreshold)
	if a.firstRTT != 0 {
		threshold = uint64(a.firstRTT)
	}
	end := seq + seglen
	if s.Flags&(capture.SYN|capture.FIN) != 0 {
		end++
	}
	if notAdvanced && sinceNext < threshold && fwd.nextSeq != end {
		return OutOfOrder
	}

	if notAdvanced {
		return Retransmission
	}
	return 0
}
