package tracker

import (
	"testing"

	"github.com/google/go-cmp/cmp"
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
