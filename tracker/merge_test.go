package tracker

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Merging the workers' events, each worker's in order, gives what a stable
// sort of them all gives, ties (which workers never make) included.
func TestMergeEventsIsAStableSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		batches := make([]*shardBatch, 1+r.IntN(4))
		var all []shardEvent
		for w := range batches {
			b := &shardBatch{}
			mark := &Conn{} // tells this worker's events from another's equal ones
			for range r.IntN(40) {
				e := shardEvent{frame: int64(r.IntN(10)), timers: r.IntN(3) == 0, seq: r.IntN(5), id: uint64(r.IntN(5))}
				if r.IntN(10) == 0 {
					e.frame = 1<<63 - 1
				}
				e.c = mark
				b.events = append(b.events, e)
			}
			slices.SortStableFunc(b.events, compareEvents)
			batches[w] = b
			all = append(all, b.events...)
		}
		slices.SortStableFunc(all, compareEvents)
		got := mergeEvents(nil, batches, make([]int, len(batches)))
		// Compared with ==: the events' connections by identity.
		if !slices.Equal(all, got) {
			t.Fatalf("round %d: merged events differ from a stable sort:\n sort  %+v\n merge %+v", round, all, got)
		}
	}
}
