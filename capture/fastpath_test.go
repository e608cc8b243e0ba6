package capture

import (
	"os"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcplens/tcplens/internal/synthcorpus"
	"github.com/tcplens/tcplens/internal/testcaptures"
)

// frame is one captured frame with its link type.
type frame struct {
	data []byte
	link layers.LinkType
}

// captureFrames returns every frame of the captures in testdata/ and
// ../shared/captures/.
func captureFrames(t testing.TB) []frame {
	t.Helper()
	files := testcaptures.All(t)
	// The benchmark corpus' kind of traffic (snap length 128, IPv4 and
	// IPv6, options), from the shared generator when it is there.
	if synth := synthcorpus.Generate(t, 2000, 400, 3); synth != "" {
		files = append(files, synth)
	}
	var frames []frame
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		var next func() ([]byte, layers.LinkType, error)
		if ng, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true}); err == nil {
			next = func() ([]byte, layers.LinkType, error) {
				data, ci, err := ng.ReadPacketData()
				link := layers.LinkTypeEthernet
				if len(ci.AncillaryData) > 0 {
					link, _ = ci.AncillaryData[0].(layers.LinkType)
				}
				return data, link, err
			}
		} else {
			f.Seek(0, 0)
			p, err := pcapgo.NewReader(f)
			if err != nil {
				f.Close()
				// Only the files that are no capture to Open either (the
				// damaged ones) may be passed over.
				if r, openErr := Open(name); openErr == nil {
					r.Close()
					t.Fatalf("%s: Open reads it, this test's reader cannot: %v", name, err)
				}
				continue
			}
			next = func() ([]byte, layers.LinkType, error) {
				data, _, err := p.ReadPacketData()
				return data, p.LinkType(), err
			}
		}
		for {
			data, link, err := next()
			if err != nil {
				break
			}
			frames = append(frames, frame{data, link})
		}
		f.Close()
	}
	return frames
}

// checkFast compares the fast path with the general one on a frame: when
// the fast path takes a frame, the segment must be the general path's.
func checkFast(t testing.TB, fr frame) bool {
	d := NewDecoder()
	var fast, general Segment
	if !d.fast(fr.data, fr.link, &fast) {
		return false
	}
	if r := d.general(fr.data, fr.link, &general); r != ReasonNone {
		t.Fatalf("fast path decoded a frame the general path calls %v: % x", r, fr.data)
	}
	if general != fast {
		t.Fatalf("fast path differs from the general path:\ngeneral %+v\nfast    %+v\nframe % x", general, fast, fr.data)
	}
	return true
}

func TestFastPathMatchesGeneralPath(t *testing.T) {
	frames := captureFrames(t)
	took := 0
	for _, fr := range frames {
		if checkFast(t, fr) {
			took++
		}
	}
	// Most frames of these captures are plain Ethernet/IP/TCP.
	if took < len(frames)/4 {
		t.Errorf("the fast path took %d of %d frames", took, len(frames))
	}
	t.Logf("fast path took %d of %d frames", took, len(frames))
}

// FuzzFastPath mutates real frames: whatever the fast path accepts, the
// general path must decode to the same segment.
func FuzzFastPath(f *testing.F) {
	for i, fr := range captureFrames(f) {
		if fr.link == layers.LinkTypeEthernet && i%7 == 0 {
			f.Add(fr.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, frame{data, layers.LinkTypeEthernet})
	})
}
