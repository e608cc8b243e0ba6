package reassembly

import (
	"math/bits"
	"strconv"
)

// Flags is the set of data-path findings for one segment, as Wireshark's
// TCP sequence analysis reports them (the tcp.analysis.* field of each flag
// is in its comment). An Analyzer computes them.
type Flags uint16

// The findings, named after Wireshark's expert infos.
const (
	// Retransmission: the segment carries data (or SYN/FIN) that its sender
	// already sent. As in Wireshark, whose tcp.analysis.retransmission filter
	// matches fast and spurious retransmissions too, it is set together with
	// FastRetransmission and SpuriousRetransmission.
	Retransmission Flags = 1 << iota // tcp.analysis.retransmission
	// FastRetransmission: a retransmission of the sequence number the
	// receiver asked for with two or more duplicate ACKs, less than 20 ms
	// after the last of them.
	FastRetransmission // tcp.analysis.fast_retransmission
	// SpuriousRetransmission: data that the receiver had already
	// acknowledged.
	SpuriousRetransmission // tcp.analysis.spurious_retransmission
	// OutOfOrder: data below the highest sequence number sent, seen less than
	// one handshake round-trip time (3 ms without a handshake) after the
	// segment that set it.
	OutOfOrder // tcp.analysis.out_of_order
	// LostSegment: the segment starts beyond the next expected sequence
	// number: the capture missed data ("previous segment not captured").
	LostSegment // tcp.analysis.lost_segment
	// AckedUnseen: the segment acknowledges data the capture never saw.
	AckedUnseen // tcp.analysis.ack_lost_segment
	// DuplicateAck: an empty segment repeating the sender's previous ACK
	// number and window.
	DuplicateAck // tcp.analysis.duplicate_ack
	// ZeroWindow: the sender advertises a zero receive window.
	ZeroWindow // tcp.analysis.zero_window
	// ZeroWindowProbe: one byte at the next sequence number while the
	// receiver's window is zero.
	ZeroWindowProbe // tcp.analysis.zero_window_probe
	// ZeroWindowProbeAck: the (still zero-window) answer to a probe.
	ZeroWindowProbeAck // tcp.analysis.zero_window_probe_ack
	// WindowFull: the segment fills the receiver's advertised window.
	WindowFull // tcp.analysis.window_full
	// KeepAlive: zero or one byte at one less than the next sequence number.
	KeepAlive // tcp.analysis.keep_alive
	// KeepAliveAck: the answer to a keep-alive.
	KeepAliveAck // tcp.analysis.keep_alive_ack
	// WindowUpdate: an empty segment that only changes the window.
	WindowUpdate // tcp.analysis.window_update

	numFlags = iota
)

// flagNames are the stable kebab-case ids, in bit order.
var flagNames = [numFlags]string{
	"retransmission",
	"fast-retransmission",
	"spurious-retransmission",
	"out-of-order",
	"lost-segment",
	"acked-unseen",
	"duplicate-ack",
	"zero-window",
	"zero-window-probe",
	"zero-window-probe-ack",
	"window-full",
	"keep-alive",
	"keep-alive-ack",
	"window-update",
}

// allFlags is every defined bit.
const allFlags = Flags(1<<numFlags - 1)

// NumFlags is the number of defined flags: bits 0 to NumFlags-1.
const NumFlags = numFlags

// FlagName returns the id of flag bit i (0 <= i < NumFlags), "" for any
// other i.
func FlagName(i int) string {
	if i < 0 || i >= numFlags {
		return ""
	}
	return flagNames[i]
}

// Has reports whether all bits of f2 are set in f.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// String returns the ids of the flags set, in bit order and separated by
// commas, for example "retransmission,fast-retransmission"; "none" when no
// flag is set. Bits with no name are written in hex.
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	return string(f.AppendTo(make([]byte, 0, 48)))
}

// AppendTo appends the comma-separated ids of f to b, nothing when f is
// empty. It allocates only if b lacks room.
func (f Flags) AppendTo(b []byte) []byte {
	first := true
	for rest := f & allFlags; rest != 0; rest &= rest - 1 {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, flagNames[bits.TrailingZeros16(uint16(rest))]...)
	}
	if unknown := f &^ allFlags; unknown != 0 {
		if !first {
			b = append(b, ',')
		}
		b = append(b, "0x"...)
		b = strconv.AppendUint(b, uint64(unknown), 16)
	}
	return b
}

// Names returns the ids of the flags set, in bit order; nil when none is.
// Bits with no name are left out.
func (f Flags) Names() []string {
	f &= allFlags
	if f == 0 {
		return nil
	}
	names := make([]string, 0, bits.OnesCount16(uint16(f)))
	for rest := f; rest != 0; rest &= rest - 1 {
		names = append(names, flagNames[bits.TrailingZeros16(uint16(rest))])
	}
	return names
}
