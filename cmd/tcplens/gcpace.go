package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The garbage collector's pace, unless the user sets GOGC or GOMEMLIMIT.
//
// Most of the heap is connections that live for seconds to minutes, so
// the live heap is large and changes slowly, and Go's default (a
// collection each time the heap doubles) would hold twice the open
// connections' memory. A fixed GOGC of 20 keeps that low, but with a small
// live heap it collects every few MB: on synth-2m a quarter of all
// instructions went to the collector and its write barriers. So the pace
// follows the live heap after each collection:
//
//	goal = max(1.2 × live, min(2 × live, gcBudget))
//
// A small heap may double (GOGC 100), a middling one grows to gcBudget,
// and a large one by 20% (GOGC 20, as before). Peak memory is therefore
// never above the larger of gcBudget and what GOGC 20 gave, and the
// collector never runs more often than at GOGC 20.
const (
	gcMinPercent = 20
	gcMaxPercent = 100
	gcBudget     = 88 << 20 // heap bytes; the process holds some 20 MB more
)

// gcPercentFor returns the GOGC that makes the heap goal of a live heap of
// live bytes the goal above.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	goal := min(2*live, uint64(gcBudget))
	pct := int((goal - min(goal, live)) * 100 / live)
	return max(gcMinPercent, min(pct, gcMaxPercent))
}

// gcPacer sets GOGC from the live heap once per collection: a cleanup on an
// object that nothing references runs after each cycle and arms the next.
type gcPacer struct {
	mu      sync.Mutex
	held    bool // writeTable has the collector (see hold)
	running bool
	sample  [1]metrics.Sample
}

var pacer = newGCPacer()

func newGCPacer() *gcPacer {
	return &gcPacer{sample: [1]metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
}

// gcSentinel holds a pointer so that it is not put with other small
// objects in one block (which would delay its cleanup).
type gcSentinel struct{ _ *byte }

// start sets GOGC for an empty heap and begins following the live heap.
func (p *gcPacer) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return
	}
	p.running = true
	debug.SetGCPercent(gcMaxPercent)
	p.arm()
}

// stop ends what start began: GOGC is left as the last collection set it.
func (p *gcPacer) stop() {
	p.mu.Lock()
	p.running = false
	p.mu.Unlock()
}

// arm registers the cleanup that runs after the next collection.
func (p *gcPacer) arm() {
	runtime.AddCleanup(new(gcSentinel), (*gcPacer).collected, p)
}

// collected runs after a collection: it sets GOGC for the live heap that
// collection found, unless writeTable holds the collector, and arms the
// next call.
func (p *gcPacer) collected() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return
	}
	if !p.held {
		metrics.Read(p.sample[:])
		if p.sample[0].Value.Kind() == metrics.KindUint64 {
			debug.SetGCPercent(gcPercentFor(p.sample[0].Value.Uint64()))
		}
	}
	p.arm()
}

// hold stops the pacer from changing GOGC until release is called, so that
// a caller may set the collector itself for a while.
func (p *gcPacer) hold() (release func()) {
	p.mu.Lock()
	p.held = true
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.held = false
		p.mu.Unlock()
	}
}
