package tracker

import (
	"testing"

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
	for _, n := range []int{3, 40} {
		c := &Conn{done: true, Transitions: make([]Transition, n*3), Anomalies: make([]Anomaly, n), synSegs: make([]synSeg, n)}
		tr.Release(c)
		seg := capture.Segment{Flags: capture.SYN}
		got := tr.makeConn(capture.Key{}, &seg, 1)
		if got != c {
			t.Fatalf("%d: the released Conn was not reused", n)
		}
		if len(got.Transitions)+len(got.Anomalies)+len(got.synSegs) != 0 {
			t.Errorf("%d: reused Conn not empty", n)
		}
		if cap(got.Transitions) > keepTransitions || cap(got.Anomalies) > keepAnomalies || cap(got.synSegs) > keepSynSegs {
			t.Errorf("%d: reused Conn keeps arrays of %d transitions, %d anomalies, %d SYNs", n, cap(got.Transitions), cap(got.Anomalies), cap(got.synSegs))
		}
		if n == 3 && (cap(got.Transitions) != 9 || cap(got.Anomalies) != 3) {
			t.Errorf("%d: usual-sized arrays not kept (%d, %d)", n, cap(got.Transitions), cap(got.Anomalies))
		}
		if cap(got.Transitions) < 9 {
			t.Errorf("%d: room for %d transitions, want the usual ten", n, cap(got.Transitions))
		}
	}
}
