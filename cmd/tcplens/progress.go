package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// progressMinSize is the smallest file that gets a progress bar: smaller
// ones are read before a bar would be worth drawing.
const progressMinSize = 8 << 20

// progressEvery is how often the bar is redrawn.
const progressEvery = 250 * time.Millisecond

// progress draws a one-line progress bar on a terminal while a file is
// read: bytes read of the total, packets per second and connections open.
// The reading goroutine publishes its counters with update; a goroutine of
// its own draws them.
type progress struct {
	w                    io.Writer
	name                 string
	total                int64
	start                time.Time
	bytes, packets, open atomic.Int64
	stopc                chan struct{}
	wg                   sync.WaitGroup
}

// progressTo returns where progress bars go: stderr when it is a terminal
// and --quiet is not given, else nil.
func progressTo(stderr io.Writer, quiet bool) io.Writer {
	if quiet {
		return nil
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

// startProgress starts a bar for a file of total bytes, or returns nil when
// w is nil or the file is too small for one.
func startProgress(w io.Writer, name string, total int64) *progress {
	if w == nil || total < progressMinSize {
		return nil
	}
	p := &progress{w: w, name: name, total: total, start: time.Now(), stopc: make(chan struct{})}
	p.wg.Add(1)
	go p.run()
	return p
}

func (p *progress) update(bytes, packets int64, open int) {
	if p == nil {
		return
	}
	p.bytes.Store(bytes)
	p.packets.Store(packets)
	p.open.Store(int64(open))
}

func (p *progress) run() {
	defer p.wg.Done()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	fmt.Fprint(p.w, "\r\x1b[K"+p.line(0))
	for {
		select {
		case <-p.stopc:
			fmt.Fprint(p.w, "\r\x1b[K") // leave the line clean for what follows
			return
		case <-tick.C:
			fmt.Fprint(p.w, "\r\x1b[K"+p.line(time.Since(p.start)))
		}
	}
}

// line is the bar's text after elapsed time.
func (p *progress) line(elapsed time.Duration) string {
	b, n, open := p.bytes.Load(), p.packets.Load(), p.open.Load()
	pct := 100 * float64(b) / float64(p.total)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	const width = 20
	fill := min(int(pct/100*width), width)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < fill {
			bar[i] = '#'
		}
	}
	return fmt.Sprintf("%s [%s] %s of %s (%.0f%%)  %s packets/s  %d open",
		p.name, bar, mega(float64(b)), mega(float64(p.total)), pct, humanRate(rate), open)
}

func mega(b float64) string { return fmt.Sprintf("%.1f MB", b/1e6) }

func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0f k", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

// stop removes the bar.
func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.stopc)
	p.wg.Wait()
}
