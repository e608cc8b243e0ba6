package reassembly

import "github.com/tcplens/tcplens/capture"

// Direction is the sequence space of the segments one endpoint sends.
type Direction struct {
	Packets int64 // segments sent
	Bytes   int64 // payload bytes sent, retransmissions included
	FINs    int   // FIN-bearing segments sent, retransmissions included
	SYNs    int   // SYN-bearing segments sent, retransmissions included

	ISN       uint32 // initial sequence number
	NextSeq   uint32 // one past the highest sequence number sent
	FINSeq    uint32 // sequence number of the FIN
	HighAck   uint32 // highest acknowledgment number sent (covers the peer)
	LastTSVal uint32 // the last timestamp value sent, if Timestamps

	Window      uint16 // last advertised window, unscaled
	MSS         uint16
	WindowScale int8 // from this side's SYN; capture.NoWindowScale if none

	Started     bool // a segment has been seen from this side
	SawSYN      bool // a SYN has been seen; ISN is valid
	SawFIN      bool
	SawACK      bool
	windowInSYN bool // Window came from a SYN, where it is never scaled
	SACKPerm    bool
	Timestamps  bool
}

// Sent says what a segment meant for its sender's sequence space.
type Sent uint8

// What a segment was, for the flags that matter to state inference.
const (
	SentNewSYN Sent = 1 << iota
	SentRetransmittedSYN
	SentNewFIN
	SentRetransmittedFIN
)

// Send records a segment sent from this direction and says whether its SYN
// and FIN were new or retransmitted.
func (d *Direction) Send(s *capture.Segment) Sent {
	var what Sent
	d.Packets++
	d.Bytes += int64(s.PayloadLen)
	d.Window, d.windowInSYN = s.Window, s.Flags&capture.SYN != 0
	if s.HasTS {
		d.LastTSVal = s.TSVal
	}
	if s.Flags&capture.ACK != 0 && (!d.SawACK || SeqGT(s.Ack, d.HighAck)) {
		d.SawACK, d.HighAck = true, s.Ack
	}
	if s.Flags&capture.SYN != 0 {
		d.SYNs++
		if d.SawSYN && s.Seq == d.ISN {
			what |= SentRetransmittedSYN
		} else {
			what |= SentNewSYN
			d.SawSYN, d.ISN = true, s.Seq
			d.WindowScale, d.MSS = s.WindowScale, s.MSS
			d.SACKPerm, d.Timestamps = s.SACKPerm, s.HasTS
			d.NextSeq = s.Seq
			d.Started = false // a new ISN restarts the sequence space
		}
	}
	end := s.Seq + s.SeqLen()
	if !d.Started || SeqGT(end, d.NextSeq) {
		d.NextSeq = end
	}
	d.Started = true
	if s.Flags&capture.FIN != 0 {
		d.FINs++
		fin := end - 1
		if d.SawFIN && fin == d.FINSeq {
			what |= SentRetransmittedFIN
		} else if !d.SawFIN {
			what |= SentNewFIN
			d.SawFIN, d.FINSeq = true, fin
		}
	}
	return what
}

// AckCoversSYN reports whether ack acknowledges this direction's SYN.
func (d *Direction) AckCoversSYN(ack uint32) bool {
	return d.SawSYN && SeqGE(ack, d.ISN+1)
}

// AckCoversFIN reports whether ack acknowledges this direction's FIN.
func (d *Direction) AckCoversFIN(ack uint32) bool {
	return d.SawFIN && SeqGE(ack, d.FINSeq+1)
}

// ScaledWindow is the receive window this direction last advertised, in
// bytes. Scaling applies only when both SYNs carried the option, and never
// to the window of a SYN or SYN-ACK (RFC 7323 section 2.2).
func (d *Direction) ScaledWindow(peer *Direction) uint32 {
	w := uint32(d.Window)
	if !d.windowInSYN && d.WindowScale >= 0 && peer.WindowScale >= 0 && d.SawSYN && peer.SawSYN {
		w <<= uint(d.WindowScale)
	}
	return w
}

// InWindow reports whether sequence number seq, sent from snd to the side
// whose direction is rcv, falls in the receiver's window as last seen:
// RCV.NXT <= seq < RCV.NXT+RCV.WND, or seq == RCV.NXT for a zero window
// (RFC 9293 section 3.10.7.4). RCV.NXT is the highest acknowledgment the
// receiver sent; if it has sent none, the sender's next sequence number.
// With nothing known about the receiver's window, any seq is accepted.
func InWindow(seq uint32, snd, rcv *Direction) bool {
	if !rcv.SawACK {
		return true
	}
	next := rcv.HighAck
	wnd := rcv.ScaledWindow(snd)
	if wnd == 0 {
		return seq == next
	}
	return SeqGE(seq, next) && seq-next < wnd
}

// SeqLT reports a < b in sequence space.
func SeqLT(a, b uint32) bool { return int32(a-b) < 0 }

// SeqGT reports a > b in sequence space.
func SeqGT(a, b uint32) bool { return int32(a-b) > 0 }

// SeqGE reports a >= b in sequence space.
func SeqGE(a, b uint32) bool { return int32(a-b) >= 0 }
