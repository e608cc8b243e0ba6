package tracker

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/capture"
)

// A parked connection gives back the SYNs it was given, whether the
// retransmissions repeat the first but for frame, time and TSval (kept
// short) or differ in more.
func TestParkedKeepsSYNs(t *testing.T) {
	first := synSeg{frame: 1, time: 1e9, seq: 100, tsVal: 7, hasTS: true, window: 64240, mss: 1460, wscale: 7, sackPerm: true}
	again := first
	again.frame, again.time, again.tsVal = 5, 2e9, 1007
	third := again
	third.frame, third.time, third.tsVal = 9, 4e9, 3007
	other := third
	other.window = 1024 // a different SYN: kept whole
	for _, tc := range []struct {
		name  string
		segs  []synSeg
		short bool
	}{
		{"one", []synSeg{first}, true},
		{"retransmitted", []synSeg{first, again, third}, true},
		{"different", []synSeg{first, again, other}, false},
	} {
		var p parked
		p.setSegs(tc.segs)
		var got []synSeg
		for i := range p.numSegs() {
			got = append(got, p.seg(i))
		}
		if diff := cmp.Diff(tc.segs, got, cmp.AllowUnexported(synSeg{})); diff != "" {
			t.Errorf("%s: parked SYNs differ (-given +got):\n%s", tc.name, diff)
		}
		if short := p.segs == nil; short != tc.short {
			t.Errorf("%s: kept by frame and time only: %v, want %v", tc.name, short, tc.short)
		}
	}
}

// A released connection keeps arrays of the usual size for the next one,
// not the largest a connection needed: memory follows what is open, not
// the worst connection of a long capture.
func TestReleaseBoundsKeptArrays(t *testing.T) {
	cfg, _ := Profile("linux")
	tr := New(cfg, func(*Conn) {})
	grown := func(n int) []Transition { // as appending past the usual room makes it
		return append(make([]Transition, 0, usualTransitions), make([]Transition, n)...)
	}
	for _, tc := range []struct {
		name                   string
		transitions            []Transition
		anomalies              int
		keptTrans, keptAnomaly bool
	}{
		{"usual", grown(usualTransitions), keepAnomalies, true, true},
		{"grown", grown(usualTransitions + 1), 40, false, false},
	} {
		rare := &connRare{stalls: [2]stall{{since: 5, probes: 2}}, synFrames: [2]int64{3, 4}, finFrames: [2]int64{9}}
		c := &Conn{done: true, Transitions: tc.transitions, Anomalies: make([]Anomaly, tc.anomalies), synSegs: make([]synSeg, 40), rare: rare}
		tr.Release(c)
		seg := capture.Segment{Flags: capture.SYN}
		got := tr.makeConn(capture.Key{}, 0, &seg, 1)
		if got != c {
			t.Fatalf("%s: the released Conn was not reused", tc.name)
		}
		if len(got.Transitions)+len(got.Anomalies)+len(got.synSegs) != 0 {
			t.Errorf("%s: reused Conn not empty", tc.name)
		}
		if cap(got.Transitions) != usualTransitions {
			t.Errorf("%s: room for %d transitions, want %d", tc.name, cap(got.Transitions), usualTransitions)
		}
		if kept := cap(got.Transitions) > 0 && &got.Transitions[:1][0] == &tc.transitions[:1][0]; kept != tc.keptTrans {
			t.Errorf("%s: transitions' array kept: %v, want %v", tc.name, kept, tc.keptTrans)
		}
		if kept := cap(got.Anomalies) == tc.anomalies; kept != tc.keptAnomaly || cap(got.Anomalies) > keepAnomalies {
			t.Errorf("%s: room for %d anomalies kept (of %d)", tc.name, cap(got.Anomalies), tc.anomalies)
		}
		if cap(got.synSegs) > keepSynSegs {
			t.Errorf("%s: room for %d SYNs kept", tc.name, cap(got.synSegs))
		}
		// The rare part is not kept: the next connection has no stall and
		// no retransmission frames of the one before.
		if got.rare != nil {
			t.Errorf("%s: rare part %+v kept", tc.name, got.rare)
		}
	}
}

// A Conn fits the 896-byte size class: some 40,000 are in memory at
// once on the benchmark corpus, and the next class is 1,024 bytes.
func TestConnSize(t *testing.T) {
	if got := unsafe.Sizeof(Conn{}); got > 896 {
		t.Errorf("Conn is %d bytes, want at most 896", got)
	}
}

// A connection is parked only if its SYNs can be given back exactly: not
// when its addresses are IPv4-mapped IPv6 ones (its key holds them as
// IPv4) or its times are not UTC (parked times are Unix ns).
func TestParkOnlyWhatComesBackExactly(t *testing.T) {
	plain := netip.MustParseAddrPort("10.0.0.1:40000")
	mapped := netip.AddrPortFrom(netip.AddrFrom16(plain.Addr().As16()), 40000)
	server := netip.MustParseAddrPort("10.0.0.2:80")
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		client netip.AddrPort
		at     time.Time
		parked bool
	}{
		{"plain", plain, base, true},
		{"IPv4-mapped", mapped, base, false},
		{"not UTC", plain, base.In(time.FixedZone("east", 3600)), false},
	} {
		cfg, _ := Profile("linux")
		cfg.Park = true
		tr := New(cfg, func(*Conn) {})
		syn := capture.Segment{Frame: 1, Time: tc.at, Src: tc.client, Dst: server, Flags: capture.SYN, Seq: 7, WindowScale: capture.NoWindowScale}
		tr.Track(&syn)
		// Another connection's packet 3 s later lets the timers run.
		other := capture.Segment{Frame: 2, Time: tc.at.Add(3 * time.Second), Src: netip.MustParseAddrPort("10.0.0.3:1"), Dst: server, Flags: capture.SYN, Seq: 9, WindowScale: capture.NoWindowScale}
		tr.Track(&other)
		other.Frame, other.Time = 3, tc.at.Add(4*time.Second)
		tr.Track(&other)
		if got := tr.Parked() == 1; got != tc.parked {
			t.Errorf("%s: %d parked, want parked %v", tc.name, tr.Parked(), tc.parked)
		}
	}
}

// With OnStepOf, the connections it does not want are parked as without
// a listener, the ones it wants never are, and it is told the steps of
// those only, all of them.
func TestOnStepOfParksTheOthers(t *testing.T) {
	server := netip.MustParseAddrPort("10.0.0.2:80")
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg, _ := Profile("linux")
	cfg.Park = true
	tr := New(cfg, func(*Conn) {})
	var steps []int64
	tr.OnStepOf(func(s Step) { steps = append(steps, s.Segment.Frame) }, func(id uint64) bool { return id == 2 })
	// Three unanswered SYNs, each sent again 1 s later; the clock then
	// moves on by a packet of a fourth connection 5 s later.
	frame := int64(0)
	for _, at := range []time.Duration{0, time.Second} {
		for i := range 3 {
			frame++
			syn := capture.Segment{Frame: frame, Time: base.Add(at), Src: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(40000+i)), Dst: server, Flags: capture.SYN, Seq: 7, WindowScale: capture.NoWindowScale}
			tr.Track(&syn)
		}
	}
	later := capture.Segment{Frame: 7, Time: base.Add(6 * time.Second), Src: netip.MustParseAddrPort("10.0.0.3:1"), Dst: server, Flags: capture.SYN, Seq: 9, WindowScale: capture.NoWindowScale}
	tr.Track(&later)
	if tr.Parked() != 2 {
		t.Errorf("%d parked, want 2: connections 1 and 3, not 2", tr.Parked())
	}
	if want := []int64{2, 5}; !cmp.Equal(steps, want) {
		t.Errorf("steps of frames %v, want %v (connection 2's SYNs)", steps, want)
	}
}
