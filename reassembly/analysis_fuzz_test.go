package reassembly_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
)

// fuzzRecord is the size of one segment in FuzzClassify's input: direction,
// TCP flags, seq, ack, window, payload length, time step in units of
// 100 µs (signed: the clock may go backwards) and window scale option.
const fuzzRecord = 17

func decodeFuzzSegments(data []byte) (segs []capture.Segment, dirs []int) {
	now := time.Unix(1_700_000_000, 0)
	for ; len(data) >= fuzzRecord; data = data[fuzzRecord:] {
		be := binary.BigEndian
		now = now.Add(time.Duration(int16(be.Uint16(data[14:]))) * 100 * time.Microsecond)
		ws := int8(data[16])
		if ws < 0 {
			ws = capture.NoWindowScale
		}
		segs = append(segs, capture.Segment{
			Frame:       int64(len(segs) + 1),
			Time:        now,
			Flags:       capture.Flags(data[1]),
			Seq:         be.Uint32(data[2:]),
			Ack:         be.Uint32(data[6:]),
			Window:      be.Uint16(data[10:]),
			PayloadLen:  int(be.Uint16(data[12:])),
			WindowScale: min(ws, 14),
		})
		dirs = append(dirs, int(data[0]))
	}
	return segs, dirs
}

func encodeFuzzSegments(segs []capture.Segment) []byte {
	var b []byte
	be := binary.BigEndian
	var last time.Time
	for i, s := range segs {
		dir := byte(0)
		if s.Src.Port() == 80 {
			dir = 1
		}
		step := int16(0)
		if i > 0 {
			step = int16(min(s.Time.Sub(last)/(100*time.Microsecond), 1<<15-1))
		}
		last = s.Time
		b = append(b, dir, byte(s.Flags))
		b = be.AppendUint32(b, s.Seq)
		b = be.AppendUint32(b, s.Ack)
		b = be.AppendUint16(b, s.Window)
		b = be.AppendUint16(b, uint16(s.PayloadLen))
		b = be.AppendUint16(b, uint16(step))
		b = append(b, byte(s.WindowScale))
	}
	return b
}

// FuzzClassify: any segment sequence, in any direction (including invalid
// direction numbers), never panics; the flags are only the defined ones, in
// combinations Wireshark's analysis can produce, and the same input gives
// the same flags after Reset.
func FuzzClassify(f *testing.F) {
	conns, _ := scenarioConns(f)
	for _, segs := range conns {
		f.Add(encodeFuzzSegments(segs))
	}
	f.Add([]byte{})
	const defined = reassembly.Flags(1<<14 - 1)
	exclusive := []reassembly.Flags{
		reassembly.FastRetransmission | reassembly.SpuriousRetransmission | reassembly.OutOfOrder,
		reassembly.KeepAliveAck | reassembly.ZeroWindowProbeAck | reassembly.DuplicateAck,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		segs, dirs := decodeFuzzSegments(data)
		var a reassembly.Analyzer
		first := make([]reassembly.Flags, len(segs))
		for i := range segs {
			got := a.Classify(&segs[i], dirs[i])
			first[i] = got
			if got&^defined != 0 {
				t.Fatalf("segment %d: undefined flags %v", i+1, got)
			}
			if got&(reassembly.FastRetransmission|reassembly.SpuriousRetransmission) != 0 && !got.Has(reassembly.Retransmission) {
				t.Fatalf("segment %d: %v without retransmission", i+1, got)
			}
			for _, ex := range exclusive {
				if n := got & ex; n&(n-1) != 0 {
					t.Fatalf("segment %d: %v: at most one of %v", i+1, got, ex)
				}
			}
		}
		a.Reset()
		for i := range segs {
			if got := a.Classify(&segs[i], dirs[i]); got != first[i] {
				t.Fatalf("segment %d: %v after Reset, %v before", i+1, got, first[i])
			}
		}
	})
}
