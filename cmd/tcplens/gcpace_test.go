package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/tcplens/tcplens/report"
)

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		live, roots uint64
		want        int
	}{
		{0, 0, 100},
		{10 * mb, 5 * mb, 100}, // a small heap may double
		{40 * mb, 4 * mb, 100}, // (88-40)/44 = 109%: at most 100
		{55 * mb, 0, 60},       // grows to the budget: 88 MB
		{55 * mb, 5 * mb, 55},  // the roots count towards Go's goal
		{70 * mb, 0, 25},       // 87.5 MB
		{80 * mb, 5 * mb, 20},  // 20% would pass the budget: 20%
		{500 * mb, 5 * mb, 20}, // a large heap grows by 20%, as at GOGC 20
		{1<<64 - 1, 1<<64 - 1, 20},
	} {
		got := gcPercentFor(tc.live, tc.roots)
		if got != tc.want {
			t.Errorf("gcPercentFor(%d MB, %d MB) = %d, want %d", tc.live/mb, tc.roots/mb, got, tc.want)
		}
		// Go's heap goal at that GOGC is within the budget, unless it is
		// GOGC 20's.
		if tc.live < 1<<40 {
			goal := tc.live + (tc.live+tc.roots)*uint64(got)/100
			if goal > gcBudget && got != gcMinPercent {
				t.Errorf("live %d MB: heap goal %d MB at GOGC %d, above the budget", tc.live/mb, goal/mb, got)
			}
		}
	}
}

// startPacer starts a new pacer, or the one given, for the test, and
// stops it and puts GOGC back when the test ends. It skips the test when
// the environment sets the collector's pace.
func startPacer(t *testing.T, given ...*gcPacer) *gcPacer {
	t.Helper()
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: the collector's pace is not the pacer's alone")
	}
	prev := debug.SetGCPercent(100)
	p := newGCPacer()
	if len(given) > 0 {
		p = given[0]
	}
	p.start()
	t.Cleanup(func() {
		p.stop()
		debug.SetGCPercent(prev)
	})
	return p
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
	p := startPacer(t)

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

	// Paused, the collector is off, whatever collections run, and back
	// at the pacer's pace after.
	resume := p.pause()
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if got := gogc(); got != -1 {
		t.Errorf("paused: GOGC %d, want off (-1)", got)
	}
	resume()
	if got := gogc(); got != 100 {
		t.Errorf("resumed: GOGC %d, want 100 again", got)
	}
	wait(100)
}

// A pacer stopped and started again follows each collection once, not
// once for each start.
func TestPacerRestartsOnce(t *testing.T) {
	p := startPacer(t)
	p.stop()
	p.start()
	const n = 10
	for range n {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	p.mu.Lock()
	followed := p.followed
	p.mu.Unlock()
	if followed == 0 || followed > n {
		t.Errorf("%d collections followed in %d", followed, n)
	}
}

// gcDuringWrite runs collections at its first write and notes GOGC then.
type gcDuringWrite struct {
	wrote bool
	gogc  int
}

func (w *gcDuringWrite) Write(b []byte) (int, error) {
	if !w.wrote {
		w.wrote = true
		for range 3 {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		w.gogc = gogc()
	}
	return len(b), nil
}

// While writeTable draws, the pacer leaves the collector as writeTable set
// it (off, below a memory limit), however many collections run.
func TestWriteTableHoldsPacer(t *testing.T) {
	startPacer(t, pacer)
	var w gcDuringWrite
	if err := writeTable(&w, nil, report.Summary{File: "f"}); err != nil {
		t.Fatal(err)
	}
	if !w.wrote || w.gogc != -1 {
		t.Errorf("GOGC %d while the table was drawn, want it off", w.gogc)
	}
}
