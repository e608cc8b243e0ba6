package capture_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
)

// TestNonTCPCounted writes one packet of each kind that is not tracked
// between TCP segments and checks each is counted once, under its reason.
func TestNonTCPCounted(t *testing.T) {
	frames := []struct {
		name   string
		data   []byte
		reason capture.Reason
	}{
		{"udp", udpFrame(t), capture.ReasonNotTCP},
		{"udp6", udp6Frame(t), capture.ReasonNotTCP},
		{"icmp", icmpFrame(t), capture.ReasonNotTCP},
		{"arp", arpFrame(t), capture.ReasonNotIP},
		{"first fragment", fragmentFrame(t), capture.ReasonFragment},
		{"later fragment", laterFragmentFrame(t), capture.ReasonFragment},
		{"ipv6 fragment", ipv6FragmentFrame(t), capture.ReasonFragment},
		{"garbage", []byte("garbage"), capture.ReasonMalformed},
		{"empty", []byte{}, capture.ReasonMalformed},
		{"cut IPv4 header", shortIPFrame(t), capture.ReasonMalformed},
		{"TCP data offset 4", badTCPFrame(t), capture.ReasonMalformedTCP},
	}
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			b := scenario.New(scenario.Options{})
			c := b.Conn("10.0.0.1:1000", "10.0.0.2:80")
			syn := c.Send(scenario.Client, "S", 0)
			b.WriteRaw(f.data)
			synAck := c.Send(scenario.Server, "SA", 0)
			file := mustBytes(t, b)

			segs, r, err := readAll(t, "mixed.pcap", file)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if len(segs) != 2 || segs[0].Frame != int64(syn.Frame) || segs[1].Frame != int64(synAck.Frame) {
				t.Fatalf("got %d segments %+v, want frames %d and %d", len(segs), segs, syn.Frame, synAck.Frame)
			}
			var want [len(r.Stats.ByReason)]int64
			want[capture.ReasonNone] = 2
			want[f.reason]++
			if diff := cmp.Diff(want, r.Stats.ByReason); diff != "" {
				t.Errorf("ByReason (-want +got):\n%s", diff)
			}
			checkStats(t, &r.Stats)
			if r.Stats.Packets != 3 {
				t.Errorf("Stats.Packets %d, want 3", r.Stats.Packets)
			}
			recs := parseLEPcap(t, file)
			if got, want := r.Stats.Bytes, int64(len(recs[0].data)+len(recs[1].data)+len(recs[2].data)); got != want {
				t.Errorf("Stats.Bytes %d, want %d", got, want)
			}
			if want := want[capture.ReasonNone] + want[capture.ReasonMalformedTCP]; r.Stats.TCP() != want {
				t.Errorf("Stats.TCP() %d, want %d", r.Stats.TCP(), want)
			}
			malformed := f.reason == capture.ReasonMalformed || f.reason == capture.ReasonMalformedTCP
			if !malformed {
				if len(r.Problems) != 0 {
					t.Errorf("Problems %v, want none", r.Problems)
				}
				return
			}
			if len(r.Problems) != 1 {
				t.Fatalf("Problems %v, want one", r.Problems)
			}
			p := r.Problems[0]
			wantOff := int64(24 + 16 + len(recs[0].data))
			if p.Frame != 2 || p.Offset != wantOff || p.Err == nil {
				t.Errorf("Problem{Frame %d, Offset %d, Err %v}, want frame 2 at offset %d with an error", p.Frame, p.Offset, p.Err, wantOff)
			}
		})
	}
}

// TestAllReasonsInOneFile counts a file with every kind of packet at once,
// in an order where untracked packets come in runs and at the end.
func TestAllReasonsInOneFile(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:1000", "10.0.0.2:80")
	c.Handshake()
	for range 2 {
		b.WriteRaw(udpFrame(t))
		b.WriteRaw(arpFrame(t))
		b.WriteRaw(fragmentFrame(t))
		b.WriteRaw([]byte{0xff})
		b.WriteRaw(badTCPFrame(t))
	}
	c.Send(scenario.Client, "PA", 10)
	b.WriteRaw(udpFrame(t))
	b.WriteRaw(arpFrame(t))
	segs, r, err := readAll(t, "all.pcap", mustBytes(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 4 {
		t.Errorf("%d segments, want 4", len(segs))
	}
	want := [len(r.Stats.ByReason)]int64{
		capture.ReasonNone:         4,
		capture.ReasonNotTCP:       3,
		capture.ReasonNotIP:        3,
		capture.ReasonFragment:     2,
		capture.ReasonMalformed:    2,
		capture.ReasonMalformedTCP: 2,
	}
	if diff := cmp.Diff(want, r.Stats.ByReason); diff != "" {
		t.Errorf("ByReason (-want +got):\n%s", diff)
	}
	if r.Stats.Packets != int64(b.Frames()) {
		t.Errorf("Stats.Packets %d, want %d", r.Stats.Packets, b.Frames())
	}
	checkStats(t, &r.Stats)
}

// checkStats checks the counting invariant: every packet under exactly one
// reason.
func checkStats(t testing.TB, s *capture.Stats) {
	t.Helper()
	var sum int64
	for _, n := range s.ByReason {
		sum += n
	}
	if sum != s.Packets {
		t.Errorf("Stats.Packets %d but ByReason sums to %d (%v)", s.Packets, sum, s.ByReason)
	}
}
