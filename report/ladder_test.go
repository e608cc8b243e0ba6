package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

// Once DrawFinished was called (the capture is a stream), each connection
// is drawn the moment it finishes, without waiting for Close.
func TestLadderDrawsAsConnectionsFinish(t *testing.T) {
	b := scenario.New(scenario.Options{})
	for _, client := range []string{"10.0.0.1:40000", "10.0.0.1:40001"} {
		c := b.Conn(client, "10.0.0.2:80")
		c.Handshake()
		c.Send(scenario.Client, "RA", 0)
		b.Advance(3 * time.Second) // past the linger: the next packet's sweep hands it on
	}
	b.Conn("10.0.0.1:40002", "10.0.0.2:80").Send(scenario.Client, "S", 0)
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	r, err := capture.NewReader("s.pcap", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	l := report.NewLadder(&out, "s.pcap", nil)
	cfg, _ := tracker.Profile("linux")
	var drawn []int // connections in the output after each finished
	tr := tracker.New(cfg, func(c *tracker.Conn) {
		l.Finish(c)
		if c.ID == 1 {
			l.DrawFinished()
		}
		drawn = append(drawn, drawnCount(out.String()))
	})
	tr.OnStep(l.Step)
	var seg capture.Segment
	for r.Next(&seg) == nil {
		tr.Track(&seg)
	}
	if want := []int{1, 2}; len(drawn) < 2 || drawn[0] != want[0] || drawn[1] != want[1] {
		t.Errorf("connections drawn after each finished: %v, want %v first", drawn, want)
	}
	tr.Flush()
	if err := l.Close(report.Summary{File: "s.pcap"}); err != nil {
		t.Fatal(err)
	}
	if n := drawnCount(out.String()); n != 3 {
		t.Errorf("%d connections drawn, want 3:\n%s", n, out.String())
	}
}

// drawnCount counts the ladders in out.
func drawnCount(out string) int {
	n := 0
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "connection ") {
			n++
		}
	}
	return n
}
