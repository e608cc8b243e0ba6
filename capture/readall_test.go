package capture_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
)

// segmentCmp compares Segments field by field; netip.AddrPort has
// unexported fields but is comparable, and time.Time is compared with Equal.
var segmentCmp = cmpopts.EquateComparable(netip.AddrPort{})

// readAll reads every segment of a capture. It fails the test if NewReader
// fails; the error that ended Next is returned unless it is io.EOF.
func readAll(t testing.TB, name string, data []byte) ([]capture.Segment, *capture.Reader, error) {
	t.Helper()
	r, err := capture.NewReader(name, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("NewReader(%s): %v", name, err)
	}
	var segs []capture.Segment
	for {
		var seg capture.Segment
		if err := r.Next(&seg); err != nil {
			if err == io.EOF {
				return segs, r, nil
			}
			return segs, r, err
		}
		segs = append(segs, seg)
	}
}

// mustBytes returns the builder's capture, failing the test on a builder
// error.
func mustBytes(t testing.TB, b *scenario.Builder) []byte {
	t.Helper()
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// flagsOf spells scenario flag letters as capture Flags.
func flagsOf(t testing.TB, letters string) capture.Flags {
	t.Helper()
	var f capture.Flags
	for _, c := range letters {
		switch c {
		case 'S':
			f |= capture.SYN
		case 'A':
			f |= capture.ACK
		case 'F':
			f |= capture.FIN
		case 'R':
			f |= capture.RST
		case 'P':
			f |= capture.PSH
		case 'U':
			f |= capture.URG
		case 'E':
			f |= capture.ECE
		case 'C':
			f |= capture.CWR
		default:
			t.Fatalf("unknown flag letter %q", c)
		}
	}
	return f
}

// expectSegment is the Segment a reader must return for p, written on a
// connection between client and server. Time and VLAN are left for the
// caller, which knows the capture's clock and tags.
func expectSegment(t testing.TB, p scenario.Packet, client, server netip.AddrPort) capture.Segment {
	t.Helper()
	if p.Frame == 0 {
		t.Fatalf("packet %+v was not written", p)
	}
	s := capture.Segment{
		Frame:           int64(p.Frame),
		Src:             client,
		Dst:             server,
		Seq:             p.Seq,
		Ack:             p.Ack,
		Flags:           flagsOf(t, p.Flags),
		Window:          p.Window,
		MSS:             p.MSS,
		WindowScale:     capture.NoWindowScale,
		SACKPerm:        p.SACKPerm,
		PayloadLen:      p.Payload,
		CapturedPayload: p.Payload,
	}
	if p.From == scenario.Server {
		s.Src, s.Dst = server, client
	}
	if p.WScale != scenario.NoWScale {
		s.WindowScale = int8(min(p.WScale, 14))
	}
	s.NumSACK = copy(s.SACK[:], p.SACK)
	if p.Timestamps {
		s.HasTS, s.TSVal, s.TSEcr = true, p.TSVal, p.TSEcr
	}
	return s
}

// diffSegments reports the difference between two segment lists, or "".
func diffSegments(want, got []capture.Segment) string {
	return cmp.Diff(want, got, segmentCmp)
}
