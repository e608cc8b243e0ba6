package tracker

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Merging the workers' events, each worker's in order and sent in parts,
// gives what a stable sort of them all gives, ties (which workers never
// make) included; every part is given back once, after its events.
func TestMergeStreamsIsAStableSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		batches := make([]*shardBatch, 1+r.IntN(4))
		var all []shardEvent
		marks := make([]*Conn, len(batches))
		for w := range batches {
			b := &shardBatch{}
			mark := &Conn{ID: uint64(w)} // tells this worker's events from another's equal ones
			marks[w] = mark
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
		// Each worker's events in parts of random sizes (empty ones too),
		// then its batch with the rest.
		streams := make([][]*shardBatch, len(batches))
		for w, b := range batches {
			rest := b.events
			for r.IntN(3) > 0 {
				n := r.IntN(len(rest) + 1)
				streams[w] = append(streams[w], &shardBatch{part: true, events: rest[:n]})
				rest = rest[n:]
			}
			streams[w] = append(streams[w], &shardBatch{events: rest})
		}
		msgs := make([]*shardBatch, len(batches))
		sent := make([]int, len(batches)) // messages taken from each stream
		for w := range msgs {
			msgs[w], sent[w] = streams[w][0], 1
		}
		var got []shardEvent
		handed := make([]int, len(batches))   // events handed on, per worker
		returned := make([]int, len(batches)) // events in the parts given back
		mergeStreams(msgs, make([]int, len(batches)), func(w int) *shardBatch {
			m := streams[w][sent[w]]
			sent[w]++
			return m
		}, func(w int, m *shardBatch) {
			if m != streams[w][sent[w]-1] {
				t.Fatalf("round %d: worker %d: a part given back out of turn", round, w)
			}
			returned[w] += len(m.events)
			if handed[w] < returned[w] {
				t.Fatalf("round %d: worker %d: a part given back before its events were handed on", round, w)
			}
		}, func(e *shardEvent) {
			got = append(got, *e)
			handed[slices.Index(marks, e.c)]++
		})
		// Compared with ==: the events' connections by identity.
		if !slices.Equal(all, got) {
			t.Fatalf("round %d: merged events differ from a stable sort:\n sort  %+v\n merge %+v", round, all, got)
		}
		for w := range streams {
			if sent[w] != len(streams[w]) || msgs[w] != streams[w][len(streams[w])-1] {
				t.Fatalf("round %d: worker %d: %d of %d messages taken, the batch not left in msgs", round, w, sent[w], len(streams[w]))
			}
		}
	}
}
