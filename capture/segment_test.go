package capture

import (
	"testing"
	"unsafe"
)

// A Segment is three cache lines: a sharded run hands one per packet from
// the decoding core to a tracking one, and a field added carelessly makes
// it four.
func TestSegmentIsThreeCacheLines(t *testing.T) {
	if got := unsafe.Sizeof(Segment{}); got != 192 {
		t.Errorf("Segment is %d bytes, want 192: order its fields to pack, or change this test and the comment on Segment together", got)
	}
}
