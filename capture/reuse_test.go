package capture_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
)

// TestSegmentReuse: a Segment reused across Next calls, as the doc invites,
// ends up exactly as a fresh one would; nothing of the previous packet
// (VLAN tags, SACK blocks, options) survives.
func TestSegmentReuse(t *testing.T) {
	b := scenario.New(scenario.Options{Start: scriptStart, VLANs: []uint16{5, 6}})
	writeScript(b, "10.0.0.1:1000", "10.0.0.2:80")
	file := mustBytes(t, b)
	fresh, _, err := readAll(t, "reuse.pcap", file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := capture.NewReader("reuse.pcap", bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var seg capture.Segment
	for i := 0; ; i++ {
		if err := r.Next(&seg); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			if i != len(fresh) {
				t.Errorf("%d segments with reuse, %d without", i, len(fresh))
			}
			break
		}
		if diff := diffSegments(fresh[i:i+1], []capture.Segment{seg}); diff != "" {
			t.Errorf("frame %d, reused Segment differs from a fresh one (-fresh +reused):\n%s", seg.Frame, diff)
		}
	}
}

// TestDecoderReuseAcrossLinkTypes: one Decoder decodes frames of different
// shapes in turn; the VLAN tags of a tagged frame do not stick to the next.
func TestDecoderReuseAcrossLinkTypes(t *testing.T) {
	tagged := establishedFrame(t, scenario.Options{VLANs: []uint16{10, 20}}, "10.0.0.1:1", "10.0.0.2:2", true)
	plain := establishedFrame(t, scenario.Options{Link: scenario.RawIP}, "[2001:db8::1]:1", "[2001:db8::2]:2", false)
	d := capture.NewDecoder()
	var seg capture.Segment
	for range 2 {
		if d.Decode(tagged, layers.LinkTypeEthernet, &seg) != capture.ReasonNone || seg.VLAN != [2]uint16{10, 20} || seg.NumSACK != 3 {
			t.Fatalf("tagged frame: VLAN %v, NumSACK %d", seg.VLAN, seg.NumSACK)
		}
		if d.Decode(plain, layers.LinkTypeRaw, &seg) != capture.ReasonNone || seg.VLAN != [2]uint16{} || seg.NumSACK != 0 || !seg.Src.Addr().Is6() {
			t.Fatalf("plain frame after a tagged one: VLAN %v, NumSACK %d, Src %v", seg.VLAN, seg.NumSACK, seg.Src)
		}
	}
}

// TestGzipDamaged: damage to the compressed stream is reported as a
// *FormatError after the segments before it, never as a clean end.
func TestGzipDamaged(t *testing.T) {
	full := fiveSegments(t, scenario.Options{})
	offs := pcapRecordOffsets(t, full)
	gz := gzipped(t, full)

	t.Run("cut compressed stream", func(t *testing.T) {
		segs, _, err := readAll(t, "cut.pcap.gz", gz[:len(gz)*2/3])
		var fe *capture.FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("error %v after %d segments, want a *FormatError", err, len(segs))
		}
		n := len(segs)
		if n >= len(offs) || fe.Frame != int64(n+1) || fe.Offset != offs[n] {
			t.Errorf("after %d segments: FormatError{Frame %d, Offset %d}, want frame %d at %d", n, fe.Frame, fe.Offset, n+1, offs[min(n, len(offs)-1)])
		}
	})

	t.Run("bad checksum", func(t *testing.T) {
		bad := bytes.Clone(gz)
		bad[len(bad)-8] ^= 0xff // the CRC-32 in the gzip trailer
		segs, _, err := readAll(t, "crc.pcap.gz", bad)
		var fe *capture.FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("error %v after %d segments, want a *FormatError", err, len(segs))
		}
		if len(segs) != 5 {
			t.Errorf("%d segments before the checksum error, want 5", len(segs))
		}
	})
}
