package capture_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
)

// fiveSegments writes a handshake and two data segments.
func fiveSegments(t testing.TB, opts scenario.Options) []byte {
	t.Helper()
	b := scenario.New(opts)
	c := b.Conn("10.9.0.1:1234", "10.9.0.2:80")
	c.Handshake()
	b.Advance(time.Millisecond)
	c.Send(scenario.Client, "PA", 300)
	c.Send(scenario.Server, "PA", 1200)
	return mustBytes(t, b)
}

// pcapRecordOffsets returns where each record of a pcap file starts:
// 24 for the first, then 16 + caplen further for each.
func pcapRecordOffsets(t testing.TB, file []byte) []int64 {
	t.Helper()
	var offs []int64
	off := int64(24)
	for _, r := range parseLEPcap(t, file) {
		offs = append(offs, off)
		off += 16 + int64(len(r.data))
	}
	return offs
}

// pcapngPacketOffsets walks the blocks of a little-endian pcapng file and
// returns where each Enhanced Packet Block starts.
func pcapngPacketOffsets(t testing.TB, file []byte) []int64 {
	t.Helper()
	var offs []int64
	for off := 0; off < len(file); {
		typ, n := binary.LittleEndian.Uint32(file[off:]), binary.LittleEndian.Uint32(file[off+4:])
		if n < 12 || n%4 != 0 {
			t.Fatalf("block at %d: length %d", off, n)
		}
		if typ == 6 {
			offs = append(offs, int64(off))
		}
		off += int(n)
	}
	return offs
}

func TestTruncatedCapture(t *testing.T) {
	tests := []struct {
		name string
		opts scenario.Options
		gzip bool
		// cut returns where to cut the file, given where the records start
		// and the whole file; the record cut is the third.
		cut func(offs []int64, file []byte) int64
	}{
		{"pcap mid record header", scenario.Options{}, false, func(o []int64, _ []byte) int64 { return o[2] + 7 }},
		{"pcap mid record data", scenario.Options{}, false, func(o []int64, _ []byte) int64 { return o[2] + 16 + 20 }},
		{"pcap last byte missing", scenario.Options{}, false, func(o []int64, _ []byte) int64 { return o[3] - 1 }},
		{"pcap nano mid data", scenario.Options{Nanosecond: true}, false, func(o []int64, _ []byte) int64 { return o[2] + 30 }},
		{"gzip pcap mid data", scenario.Options{}, true, func(o []int64, _ []byte) int64 { return o[2] + 40 }},
		{"pcapng mid block header", scenario.Options{PcapNG: true}, false, func(o []int64, _ []byte) int64 { return o[2] + 6 }},
		{"pcapng mid packet", scenario.Options{PcapNG: true}, false, func(o []int64, _ []byte) int64 { return o[2] + 50 }},
		{"gzip pcapng mid packet", scenario.Options{PcapNG: true}, true, func(o []int64, _ []byte) int64 { return o[2] + 50 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full := fiveSegments(t, tt.opts)
			var offs []int64
			if tt.opts.PcapNG {
				offs = pcapngPacketOffsets(t, full)
			} else {
				offs = pcapRecordOffsets(t, full)
			}
			if len(offs) != 5 {
				t.Fatalf("%d records, want 5", len(offs))
			}
			file := full[:tt.cut(offs, full)]
			if tt.gzip {
				file = gzipped(t, file)
			}
			const name = "cut.pcap"
			segs, r, err := readAll(t, name, file)
			if len(segs) != 2 {
				t.Errorf("%d segments before the error, want 2", len(segs))
			}
			var fe *capture.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *capture.FormatError", err, err)
			}
			if fe.File != name || fe.Frame != 3 || fe.Offset != offs[2] {
				t.Errorf("FormatError{File %q, Frame %d, Offset %d}, want {%q, 3, %d}", fe.File, fe.Frame, fe.Offset, name, offs[2])
			}
			msg := err.Error()
			present := fmt.Sprintf("(%d bytes of it present)", int64(len(full[:tt.cut(offs, full)]))-offs[2])
			for _, s := range []string{name, "frame 3", "truncated", present} {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not mention %q", msg, s)
				}
			}
			if tt.gzip && !strings.Contains(msg, "decompressed") {
				t.Errorf("error %q does not say the offset is in the decompressed stream", msg)
			}
			if r.Stats.Packets != 2 {
				t.Errorf("Stats.Packets %d, want 2 (the cut record is not a packet)", r.Stats.Packets)
			}
			checkStats(t, &r.Stats)
		})
	}
}

func TestNotACapture(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"text", []byte("hello world")},
		{"empty", nil},
		{"three bytes", []byte{0xa1, 0xb2, 0xc3}},
		{"gzip text", gzipped(t, []byte("hello world"))},
		{"gzip empty", gzipped(t, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := capture.NewReader("input.bin", bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("NewReader returned a reader (%v), want an error", r)
			}
			if !errors.Is(err, capture.ErrNotCapture) {
				t.Errorf("error %v does not wrap ErrNotCapture", err)
			}
			var fe *capture.FormatError
			if !errors.As(err, &fe) || fe.File != "input.bin" || fe.Frame != 0 || fe.Offset != 0 {
				t.Errorf("error %#v, want a *FormatError for input.bin at the file header", err)
			}
			if !strings.Contains(err.Error(), "input.bin") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestBadFileHeader: a file that starts like a capture but whose header is
// cut short is a format error, not ErrNotCapture.
func TestBadFileHeader(t *testing.T) {
	full := fiveSegments(t, scenario.Options{})
	for _, n := range []int{4, 10, 23} {
		_, err := capture.NewReader("short.pcap", bytes.NewReader(full[:n]))
		var fe *capture.FormatError
		if !errors.As(err, &fe) || fe.File != "short.pcap" {
			t.Errorf("%d-byte pcap: error %v, want a *FormatError naming the file", n, err)
		}
		if errors.Is(err, capture.ErrNotCapture) {
			t.Errorf("%d-byte pcap: error %v wraps ErrNotCapture; it is a damaged capture", n, err)
		}
	}
}

// TestEmptyCaptureIsEOF: a file header with no records is a valid, empty
// capture.
func TestEmptyCaptureIsEOF(t *testing.T) {
	for _, opts := range []scenario.Options{{}, {PcapNG: true}} {
		segs, r, err := readAll(t, "empty", mustBytes(t, scenario.New(opts)))
		if err != nil || len(segs) != 0 || r.Stats.Packets != 0 {
			t.Errorf("pcapng=%v: %d segments, %d packets, error %v; want none and io.EOF", opts.PcapNG, len(segs), r.Stats.Packets, err)
		}
	}
}

// TestUnsupportedLinkType: packets of a link type tcplens does not decode
// are counted under ReasonLinkType and listed by link type, in pcapng
// (next to a supported interface) and in pcap.
func TestUnsupportedLinkType(t *testing.T) {
	const user0 = layers.LinkType(147) // LINKTYPE_USER0
	const ieee80211 = layers.LinkType(105)
	tcp := tcpFrame(t, true, 4321)
	ci := func(iface, n int) gopacket.CaptureInfo {
		return gopacket.CaptureInfo{Timestamp: scenario.DefaultStart, CaptureLength: n, Length: n, InterfaceIndex: iface}
	}

	t.Run("pcapng", func(t *testing.T) {
		var file bytes.Buffer
		w, err := pcapgo.NewNgWriterInterface(&file, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.NgWriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		u0, err := w.AddInterface(pcapgo.NgInterface{Name: "user0", LinkType: user0, SnapLength: 65535})
		if err != nil {
			t.Fatal(err)
		}
		wifi, err := w.AddInterface(pcapgo.NgInterface{Name: "wlan0", LinkType: ieee80211, SnapLength: 65535})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []struct {
			iface int
			data  []byte
		}{{u0, tcp}, {0, tcp}, {u0, []byte{1, 2, 3}}, {wifi, tcp}, {0, tcp}, {u0, nil}} {
			if err := w.WritePacket(ci(p.iface, len(p.data)), p.data); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		segs, r, err := readAll(t, "links.pcapng", file.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if len(segs) != 2 || segs[0].Frame != 2 || segs[1].Frame != 5 {
			t.Errorf("segments %+v, want frames 2 and 5", segs)
		}
		var want [len(r.Stats.ByReason)]int64
		want[capture.ReasonNone], want[capture.ReasonLinkType] = 2, 4
		if diff := cmp.Diff(want, r.Stats.ByReason); diff != "" {
			t.Errorf("ByReason (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[int]int64{147: 3, 105: 1}, r.Stats.LinkTypes); diff != "" {
			t.Errorf("LinkTypes (-want +got):\n%s", diff)
		}
		checkStats(t, &r.Stats)
	})

	t.Run("pcap", func(t *testing.T) {
		var file bytes.Buffer
		w := pcapgo.NewWriter(&file)
		if err := w.WriteFileHeader(65535, user0); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := w.WritePacket(ci(0, len(tcp)), tcp); err != nil {
				t.Fatal(err)
			}
		}
		segs, r, err := readAll(t, "user0.pcap", file.Bytes())
		if err != nil || len(segs) != 0 {
			t.Fatalf("%d segments, error %v; want none and io.EOF", len(segs), err)
		}
		if r.Stats.ByReason[capture.ReasonLinkType] != 3 || r.Stats.Packets != 3 {
			t.Errorf("ByReason %v, Packets %d; want 3 under %v", r.Stats.ByReason, r.Stats.Packets, capture.ReasonLinkType)
		}
		if diff := cmp.Diff(map[int]int64{147: 3}, r.Stats.LinkTypes); diff != "" {
			t.Errorf("LinkTypes (-want +got):\n%s", diff)
		}
	})
}

// TestNextAfterEOF: Next keeps returning io.EOF at the end.
func TestNextAfterEOF(t *testing.T) {
	r, err := capture.NewReader("x.pcap", bytes.NewReader(fiveSegments(t, scenario.Options{})))
	if err != nil {
		t.Fatal(err)
	}
	var seg capture.Segment
	for range 5 {
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if err := r.Next(&seg); err != io.EOF {
			t.Fatalf("Next after the end: %v, want io.EOF", err)
		}
	}
	if r.Stats.Packets != 5 {
		t.Errorf("Stats.Packets %d after repeated EOF, want 5", r.Stats.Packets)
	}
}

// isbBlock is a minimal little-endian pcapng Interface Statistics Block for
// interface 0, as dumpcap writes for every interface when a capture stops.
func isbBlock() []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 5) // block type
	b = le.AppendUint32(b, 24)   // total length
	b = le.AppendUint32(b, 0)    // interface id
	b = le.AppendUint32(b, 0)    // timestamp (high)
	b = le.AppendUint32(b, 1)    // timestamp (low)
	return le.AppendUint32(b, 24)
}

// withBlockBefore returns file with block inserted at off.
func withBlockBefore(file []byte, off int64, block []byte) []byte {
	out := append([]byte(nil), file[:off]...)
	out = append(out, block...)
	return append(out, file[off:]...)
}

// TestPcapngNonPacketBlocks: blocks that carry no packet (interface
// statistics) between packets or at the end of the file are skipped; the
// end of the file after them is the normal end, not a truncation.
func TestPcapngNonPacketBlocks(t *testing.T) {
	full := fiveSegments(t, scenario.Options{PcapNG: true})
	offs := pcapngPacketOffsets(t, full)
	tests := []struct {
		name string
		file []byte
	}{
		{"statistics between packets", withBlockBefore(full, offs[3], isbBlock())},
		{"statistics at the end", append(append([]byte(nil), full...), isbBlock()...)},
		{"two statistics at the end", append(append(append([]byte(nil), full...), isbBlock()...), isbBlock()...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, r, err := readAll(t, "stats.pcapng", tt.file)
			if err != nil {
				t.Errorf("Next: %v, want io.EOF", err)
			}
			if len(segs) != 5 || r.Stats.Packets != 5 {
				t.Errorf("%d segments, %d packets; want 5 and 5", len(segs), r.Stats.Packets)
			}
			for i, s := range segs {
				if s.Frame != int64(i+1) {
					t.Errorf("segment %d has frame %d", i, s.Frame)
				}
			}
		})
	}
}

// TestPcapngTruncatedAfterStatistics: when the record cut short follows a
// non-packet block, the error still points at the packet's own block.
func TestPcapngTruncatedAfterStatistics(t *testing.T) {
	full := fiveSegments(t, scenario.Options{PcapNG: true})
	offs := pcapngPacketOffsets(t, full)
	file := withBlockBefore(full, offs[2], isbBlock())
	third := offs[2] + int64(len(isbBlock()))
	file = file[:third+40]
	segs, _, err := readAll(t, "cut.pcapng", file)
	if len(segs) != 2 {
		t.Errorf("%d segments before the error, want 2", len(segs))
	}
	var fe *capture.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v, want a *capture.FormatError", err)
	}
	if fe.Frame != 3 || fe.Offset != third {
		t.Errorf("FormatError{Frame %d, Offset %d}, want frame 3 at %d, where its Enhanced Packet Block starts (the statistics block starts at %d)", fe.Frame, fe.Offset, third, offs[2])
	}
}

// TestPcapngProblemOffset: a malformed first packet of a pcapng is reported
// at its own Enhanced Packet Block, not at the Interface Description Block
// that precedes it.
func TestPcapngProblemOffset(t *testing.T) {
	b := scenario.New(scenario.Options{PcapNG: true})
	b.WriteRaw([]byte("garbage"))
	b.WriteRaw([]byte("more garbage"))
	file := mustBytes(t, b)
	offs := pcapngPacketOffsets(t, file)
	_, r, err := readAll(t, "bad.pcapng", file)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, p := range r.Problems {
		got = append(got, p.Frame, p.Offset)
	}
	if diff := cmp.Diff([]int64{1, offs[0], 2, offs[1]}, got); diff != "" {
		t.Errorf("problem frames and offsets (-want +got):\n%s", diff)
	}
}
