package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// tcpSegment fills seg from a TCP header; ipPayload is the IP payload length
// from the innermost IP header.
func (d *Decoder) tcpSegment(data []byte, src, dst netip.Addr, ipPayload int, seg *Segment) Reason {
	t := &d.tcp
	if err := t.DecodeFromBytes(data, d); err != nil {
		// A snap length that cut the options still leaves a usable fixed
		// header; gopacket has filled it in before giving up.
		if !(len(data) >= 20 && t.DataOffset >= 5 && int(t.DataOffset)*4 > len(data)) {
			d.Err = err
			return ReasonMalformedTCP
		}
		t.Options = t.Options[:0]
		t.Payload = nil
	}
	hdr := int(t.DataOffset) * 4
	payload := ipPayload - hdr
	if payload < 0 {
		d.Err = errTCPLength
		return ReasonMalformedTCP
	}
	seg.Src = netip.AddrPortFrom(src, uint16(t.SrcPort))
	seg.Dst = netip.AddrPortFrom(dst, uint16(t.DstPort))
	seg.Seq, seg.Ack, seg.Window = t.Seq, t.Ack, t.Window
	seg.Flags = tcpFlags(t)
	seg.PayloadLen = payload
	seg.CapturedPayload = min(len(t.Payload), payload)

	seg.clearOptions()
	for i := range t.Options {
		seg.setOption(uint8(t.Options[i].OptionType), t.Options[i].OptionData)
	}
	return ReasonNone
}

// clearOptions empties the fields that TCP options set.
func (seg *Segment) clearOptions() {
	seg.MSS, seg.WindowScale, seg.SACKPerm = 0, NoWindowScale, false
	seg.NumSACK, seg.SACK, seg.HasTS, seg.TSVal, seg.TSEcr = 0, [MaxSACKBlocks][2]uint32{}, false, 0, 0
}

// setOption sets the fields of TCP option kind, whose data is v: both
// decoders map options to a Segment through it.
func (seg *Segment) setOption(kind uint8, v []byte) {
	switch layers.TCPOptionKind(kind) {
	case layers.TCPOptionKindMSS:
		if len(v) == 2 {
			seg.MSS = binary.BigEndian.Uint16(v)
		}
	case layers.TCPOptionKindWindowScale:
		if len(v) == 1 {
			seg.WindowScale = int8(min(v[0], 14)) // RFC 7323: larger values mean 14
		}
	case layers.TCPOptionKindSACKPermitted:
		seg.SACKPerm = true
	case layers.TCPOptionKindSACK:
		for len(v) >= 8 && seg.NumSACK < MaxSACKBlocks {
			seg.SACK[seg.NumSACK] = [2]uint32{binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])}
			seg.NumSACK++
			v = v[8:]
		}
	case layers.TCPOptionKindTimestamps:
		if len(v) == 8 {
			seg.HasTS = true
			seg.TSVal, seg.TSEcr = binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
		}
	}
}

func tcpFlags(t *layers.TCP) Flags {
	var f Flags
	for _, b := range [...]struct {
		set bool
		f   Flags
	}{{t.FIN, FIN}, {t.SYN, SYN}, {t.RST, RST}, {t.PSH, PSH}, {t.ACK, ACK}, {t.URG, URG}, {t.ECE, ECE}, {t.CWR, CWR}, {t.NS, AE}} {
		if b.set {
			f |= b.f
		}
	}
	return f
}
