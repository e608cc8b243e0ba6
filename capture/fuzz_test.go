package capture_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/internal/testcaptures"
)

// seedCaptures returns a few scenario captures, one per format and link
// type, with non-TCP packets and garbage among the segments.
func seedCaptures(t testing.TB) [][]byte {
	var out [][]byte
	for _, opts := range []scenario.Options{
		{},
		{Nanosecond: true, VLANs: []uint16{10, 20}},
		{Link: scenario.LinuxSLL},
		{Link: scenario.LinuxSLL2, PcapNG: true},
		{Link: scenario.Null},
		{Link: scenario.RawIP, Snaplen: 60},
	} {
		b := scenario.New(opts)
		writeScript(b, "10.0.0.1:1000", "10.0.0.2:80")
		c6 := b.Conn("[2001:db8::1]:1000", "[2001:db8::2]:80")
		c6.Handshake()
		c6.Send(scenario.Client, "PA", 20)
		if opts.Link == scenario.Ethernet {
			b.WriteRaw(udpFrame(t))
			b.WriteRaw(arpFrame(t))
			b.WriteRaw(fragmentFrame(t))
		}
		b.WriteRaw([]byte("garbage"))
		out = append(out, mustBytes(t, b))
	}
	out = append(out, gzipped(t, out[0]))
	return out
}

// maxSeed caps a seed taken from a shared capture. The fuzzer minimizes
// every new interesting input for up to a minute, one run per step, and
// with megabyte-sized inputs it spends whole runs doing only that. A
// prefix keeps the format and link type (and adds a cut last record);
// TestSharedCaptures reads the whole files.
const maxSeed = 4 << 10

// sharedCaptureFiles returns the contents of every regular file in the
// directory of shared captures, each cut to maxSeed bytes, or nothing if
// the directory is missing. Every file, not only testcaptures.Shared's:
// INDEX.md is a seed of text that is no capture.
func sharedCaptureFiles(t testing.TB) [][]byte {
	dir := testcaptures.SharedDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out [][]byte
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data[:min(len(data), maxSeed)])
	}
	return out
}

// FuzzDecode reads arbitrary bytes as a capture file. Invariants: no panic;
// NewReader and Next fail only with a *FormatError (or io.EOF at the end);
// every packet read is counted exactly once; a segment's captured payload
// never exceeds its payload.
func FuzzDecode(f *testing.F) {
	for _, c := range seedCaptures(f) {
		f.Add(c)
	}
	for _, c := range sharedCaptureFiles(f) {
		f.Add(c)
	}
	f.Add([]byte("hello world"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := capture.NewReader("fuzz", bytes.NewReader(data))
		if err != nil {
			var fe *capture.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("NewReader error %v (%T) is not a *FormatError", err, err)
			}
			return
		}
		var seg capture.Segment
		var frame int64
		for {
			err := r.Next(&seg)
			if err != nil {
				var fe *capture.FormatError
				if err != io.EOF && !errors.As(err, &fe) {
					t.Fatalf("Next error %v (%T) is neither io.EOF nor a *FormatError", err, err)
				}
				break
			}
			if seg.Frame <= frame || seg.Frame > r.Stats.Packets {
				t.Fatalf("segment frame %d after frame %d, with %d packets read", seg.Frame, frame, r.Stats.Packets)
			}
			frame = seg.Frame
			if seg.CapturedPayload < 0 || seg.CapturedPayload > seg.PayloadLen {
				t.Fatalf("frame %d: captured payload %d of %d", seg.Frame, seg.CapturedPayload, seg.PayloadLen)
			}
			if seg.NumSACK < 0 || seg.NumSACK > capture.MaxSACKBlocks {
				t.Fatalf("frame %d: NumSACK %d", seg.Frame, seg.NumSACK)
			}
		}
		var sum int64
		for _, n := range r.Stats.ByReason {
			sum += n
		}
		if sum != r.Stats.Packets {
			t.Fatalf("Stats.Packets %d, ByReason sums to %d (%v)", r.Stats.Packets, sum, r.Stats.ByReason)
		}
		var linkTypes int64
		for _, n := range r.Stats.LinkTypes {
			linkTypes += n
		}
		if linkTypes != r.Stats.ByReason[capture.ReasonLinkType] {
			t.Fatalf("LinkTypes %v sum to %d, ByReason[%v] is %d", r.Stats.LinkTypes, linkTypes, capture.ReasonLinkType, r.Stats.ByReason[capture.ReasonLinkType])
		}
	})
}

// fuzzLinkTypes are the link types the frame seeds are given with: every
// one the decoder knows, and one it does not.
var fuzzLinkTypes = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL,
	layers.LinkTypeLinuxSLL2, layers.LinkTypeNull, layers.LinkTypeLoop,
	12, 14, 228, 229, 242, 147,
}

// FuzzDecodeFrame decodes arbitrary bytes as a frame of an arbitrary link
// type. Invariants: no panic; a known Reason; a decoded segment is
// consistent and borrows nothing from the frame.
func FuzzDecodeFrame(f *testing.F) {
	var frames [][]byte
	for _, c := range seedCaptures(f)[:1] {
		for _, rec := range parseLEPcap(f, c) {
			frames = append(frames, rec.data)
		}
	}
	for _, tt := range []func(testing.TB) []byte{udpFrame, udp6Frame, arpFrame, fragmentFrame, ipv6FragmentFrame, badTCPFrame} {
		frames = append(frames, tt(f))
	}
	for _, fr := range frames {
		f.Add(fr, uint16(layers.LinkTypeEthernet))
	}
	for _, lt := range fuzzLinkTypes {
		f.Add([]byte{0x45, 0, 0, 20}, uint16(lt))
		f.Add(frames[3], uint16(lt))
	}
	f.Add(frames[3][14:], uint16(layers.LinkTypeRaw))
	d := capture.NewDecoder()
	f.Fuzz(func(t *testing.T, data []byte, link uint16) {
		var seg capture.Segment
		reason := d.Decode(data, layers.LinkType(link), &seg)
		if reason.String() == "unknown" {
			t.Fatalf("Decode returned unknown reason %d", reason)
		}
		if reason != capture.ReasonNone {
			return
		}
		if seg.CapturedPayload < 0 || seg.CapturedPayload > seg.PayloadLen || seg.CapturedPayload > len(data) {
			t.Fatalf("captured payload %d of %d, frame of %d bytes", seg.CapturedPayload, seg.PayloadLen, len(data))
		}
		if seg.NumSACK < 0 || seg.NumSACK > capture.MaxSACKBlocks {
			t.Fatalf("NumSACK %d", seg.NumSACK)
		}
		if !seg.Src.IsValid() || !seg.Dst.IsValid() {
			t.Fatalf("invalid endpoints %v -> %v", seg.Src, seg.Dst)
		}
		// A Segment borrows nothing: scribbling over the frame leaves it
		// unchanged.
		before := seg
		for i := range data {
			data[i] ^= 0xff
		}
		if seg != before {
			t.Fatalf("segment changed when the frame was overwritten: %+v, was %+v", seg, before)
		}
	})
}
