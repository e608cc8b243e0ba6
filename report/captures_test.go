package report

import (
	"errors"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/testcaptures"
	"github.com/tcplens/tcplens/tracker"
)

// TrackCaptures tracks every capture in testdata/ and ../shared/captures/
// with the Linux profile and hands fn each connection handed on, with its
// file and the time of the file's first packet. It returns how many
// captures it read; files that are no capture are passed over, and a
// damaged one counts for what came before the damage.
func TrackCaptures(tb testing.TB, fn func(file string, first time.Time, c *tracker.Conn)) int {
	tb.Helper()
	files := testcaptures.All(tb)
	read := 0
	for _, file := range files {
		r, err := capture.Open(file)
		if errors.Is(err, capture.ErrNotCapture) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		read++
		cfg, _ := tracker.Profile("linux")
		var first time.Time
		tr := tracker.New(cfg, func(c *tracker.Conn) { fn(file, first, c) })
		var seg capture.Segment
		for r.Next(&seg) == nil {
			if first.IsZero() {
				first = seg.Time
			}
			tr.Track(&seg)
		}
		tr.Flush()
		r.Close()
	}
	return read
}
