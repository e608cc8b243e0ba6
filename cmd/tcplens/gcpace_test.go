package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{10 * mb, 100},  // a small heap may double
		{44 * mb, 100},  // exactly doubles to the budget
		{55 * mb, 60},   // grows to the budget: 88 MB
		{70 * mb, 25},   // 87.5 MB
		{80 * mb, 20},   // 20% would pass the budget: 20%
		{500 * mb, 20},  // a large heap grows by 20%, as at GOGC 20
		{1 << 40, 20},   //
		{1<<64 - 1, 20}, // no overflow
	} {
		if got := gcPercentFor(tc.live); got != tc.want {
			t.Errorf("gcPercentFor(%d MB) = %d, want %d", tc.live/mb, got, tc.want)
		}
		if tc.live > 0 && tc.live < 1<<40 {
			goal := tc.live + tc.live*uint64(gcPercentFor(tc.live))/100
			if goal > max(tc.live*6/5+1, gcBudget) {
				t.Errorf("live %d MB: heap goal %d MB, above both the budget and 1.2x live", tc.live/mb, goal/mb)
			}
		}
	}
}

// gogc reads the collector's GOGC without changing it.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// The pacer follows the live heap from one collection to the next: GOGC 100
// while it is small, 20 once it is near the budget, and back.
func TestPacerFollowsLiveHeap(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: the pacer does not run")
	}
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	p := newGCPacer()
	p.start()
	defer p.stop()

	wait := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for gogc() != want {
			if time.Now().After(deadline) {
				t.Fatalf("GOGC %d, want %d", gogc(), want)
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
	}
	// 90 MB of live pointer-free memory, touched so that it is really held.
	big := make([][]byte, 90)
	for i := range big {
		big[i] = make([]byte, 1<<20)
		big[i][0] = 1
	}
	wait(20)
	runtime.KeepAlive(big)
	big = nil
	wait(100)

	// Held, the pacer leaves GOGC to the holder.
	release := p.hold()
	debug.SetGCPercent(55)
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if got := gogc(); got != 55 {
		t.Errorf("held: GOGC %d, want the holder's 55", got)
	}
	release()
	wait(100)
}
