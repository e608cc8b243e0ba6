package scenario_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// optionKinds renders TCP options as short strings.
func optionKinds(tcp *layers.TCP) []string {
	var out []string
	for _, o := range tcp.Options {
		switch o.OptionType {
		case layers.TCPOptionKindNop:
			out = append(out, "NOP")
		case layers.TCPOptionKindMSS:
			out = append(out, fmt.Sprintf("MSS=%d", binary.BigEndian.Uint16(o.OptionData)))
		case layers.TCPOptionKindWindowScale:
			out = append(out, fmt.Sprintf("WindowScale=%d", o.OptionData[0]))
		case layers.TCPOptionKindSACKPermitted:
			out = append(out, "SACKPermitted")
		case layers.TCPOptionKindTimestamps:
			out = append(out, fmt.Sprintf("TS=%d,%d", binary.BigEndian.Uint32(o.OptionData), binary.BigEndian.Uint32(o.OptionData[4:])))
		case layers.TCPOptionKindSACK:
			s := "SACK"
			for d := o.OptionData; len(d) >= 8; d = d[8:] {
				s += fmt.Sprintf(" %d-%d", binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]))
			}
			out = append(out, s)
		default:
			out = append(out, o.OptionType.String())
		}
	}
	return out
}

// sum16 is the ones' complement sum used by IP and TCP checksums.
func sum16(data []byte, acc uint32) uint32 {
	for ; len(data) >= 2; data = data[2:] {
		acc += uint32(binary.BigEndian.Uint16(data))
	}
	if len(data) == 1 {
		acc += uint32(data[0]) << 8
	}
	return acc
}

func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// checkChecksums verifies the IPv4 header checksum and the TCP checksum of
// a complete (untruncated) frame.
func checkChecksums(t *testing.T, f frame) {
	t.Helper()
	tcp := tcpOf(t, f)
	segment := append(append([]byte(nil), tcp.Contents...), tcp.Payload...)
	var pseudo []byte
	switch ip := f.pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		if got := fold(sum16(ip.Contents, 0)); got != 0xffff {
			t.Errorf("IPv4 header checksum does not verify (sum %#x)", got)
		}
		pseudo = append(append(pseudo, ip.SrcIP.To4()...), ip.DstIP.To4()...)
		pseudo = append(pseudo, 0, byte(layers.IPProtocolTCP))
		pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(segment)))
	case *layers.IPv6:
		pseudo = append(append(pseudo, ip.SrcIP.To16()...), ip.DstIP.To16()...)
		pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(segment)))
		pseudo = append(pseudo, 0, 0, 0, byte(layers.IPProtocolTCP))
	default:
		t.Fatalf("unexpected network layer %T", ip)
	}
	if got := fold(sum16(segment, sum16(pseudo, 0))); got != 0xffff {
		t.Errorf("TCP checksum does not verify (sum %#x)", got)
	}
}
