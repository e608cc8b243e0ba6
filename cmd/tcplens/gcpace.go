package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The garbage collector's pace, unless the user sets GOGC (a GOMEMLIMIT of
// theirs stays a cap below the goals worked out here).
//
// Most of the heap is connections that live for seconds to minutes, so
// the live heap is large and changes slowly, and Go's default (a
// collection each time the heap doubles) would hold twice the open
// connections' memory. A fixed GOGC of 20 keeps that low, but with a small
// live heap it collects every few MB: on synth-2m a quarter of all
// instructions went to the collector and its write barriers. So the pace
// follows the live heap after each collection: GOGC 100 while that lets
// the heap grow no further than gcBudget, GOGC 20 once even that would
// take it past gcBudget, and in between the GOGC whose heap goal is
// gcBudget. Go's heap goal is live + (live + stacks + globals) × GOGC/100,
// so that is the goal worked out; tcplens's globals are some 5 MB.
//
// The collector therefore never runs more often than at GOGC 20 (what
// tcplens used before), and the heap goal is never above the larger of
// gcBudget and GOGC 20's. A goal is a target, not a ceiling: and the
// cleanup that sets GOGC runs after the collection's sweep reaches it and
// the cleanup goroutine is scheduled, sometimes a cycle late, when the
// previous cycle's GOGC holds for one more cycle.
const (
	gcMinPercent = 20
	gcMaxPercent = 100
	gcBudget     = 88 << 20 // heap bytes; the process holds some 20-30 MB more
)

// gcPercentFor returns the GOGC for a live heap of live bytes and roots
// (stacks and globals) of roots bytes.
func gcPercentFor(live, roots uint64) int {
	if live >= gcBudget {
		return gcMinPercent
	}
	pct := (gcBudget - live) * 100 / max(live+roots, 1)
	return int(max(gcMinPercent, min(pct, gcMaxPercent)))
}

// gcPacer sets GOGC from the live heap once per collection: a cleanup on an
// object that nothing references runs after each cycle and arms the next.
type gcPacer struct {
	mu        sync.Mutex
	held      bool   // paused (see pause)
	userLimit bool   // GOMEMLIMIT is set: pause leaves the collector alone
	running   bool   // between start and stop
	gen       uint64 // counts starts: a cleanup armed before the last start does nothing
	followed  int    // collections followed since the last start
	samples   [3]metrics.Sample
}

var pacer = newGCPacer()

func newGCPacer() *gcPacer {
	return &gcPacer{samples: [3]metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"},
	}}
}

// gcSentinel holds a pointer so that it is not put with other small
// objects in one block (which would delay its cleanup).
type gcSentinel struct{ _ *byte }

// pacerArm is what a cleanup is armed with: the pacer, and which start it
// belongs to.
type pacerArm struct {
	p   *gcPacer
	gen uint64
}

// start sets GOGC for an empty heap and begins following the live heap.
func (p *gcPacer) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return
	}
	p.running = true
	p.userLimit = os.Getenv("GOMEMLIMIT") != ""
	p.gen++
	p.followed = 0
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
	runtime.AddCleanup(new(gcSentinel), collected, pacerArm{p, p.gen})
}

// collected runs after a collection: it sets GOGC for the live heap that
// collection found, unless the pacer is paused, and arms the
// next call.
func collected(a pacerArm) {
	p := a.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running || a.gen != p.gen {
		return
	}
	p.followed++
	if !p.held {
		metrics.Read(p.samples[:])
		var v [3]uint64
		for i, s := range p.samples {
			if s.Value.Kind() != metrics.KindUint64 {
				p.arm()
				return
			}
			v[i] = s.Value.Uint64()
		}
		debug.SetGCPercent(gcPercentFor(v[0], v[1]+v[2]))
	}
	p.arm()
}

// pause turns the collector off until resume is called, except when the
// heap reaches the memory the process holds now, and puts GOGC and the
// memory limit back then; the pacer changes nothing meanwhile. For a
// stretch that makes much short-lived garbage while little else lives
// (writeTable). It does nothing unless the pacer runs and the user set no
// GOMEMLIMIT, which it would override.
func (p *gcPacer) pause() (resume func()) {
	p.mu.Lock()
	if !p.running || p.userLimit {
		p.mu.Unlock()
		return func() {}
	}
	p.held = true
	p.mu.Unlock()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := debug.SetMemoryLimit(int64(ms.Sys))
	pct := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
		p.mu.Lock()
		p.held = false
		p.mu.Unlock()
	}
}
