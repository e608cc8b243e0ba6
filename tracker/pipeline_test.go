package tracker_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/tracker"
)

// established returns a capture of conns connections that open, exchange
// rounds data/ACK pairs each way, and close; connections interleave.
func established(tb testing.TB, conns, rounds int) []byte {
	tb.Helper()
	b := scenario.New(scenario.Options{})
	cs := make([]*scenario.Conn, conns)
	for i := range cs {
		cs[i] = b.Conn(fmt.Sprintf("10.1.%d.%d:%d", i/250, i%250+1, 40000+i%20000), "10.2.0.1:443")
		cs[i].Handshake()
	}
	for range rounds {
		for _, c := range cs {
			b.Advance(100 * time.Microsecond)
			c.Send(scenario.Client, "PA", 100)
			c.Send(scenario.Server, "A", 0)
		}
	}
	for _, c := range cs {
		c.Send(scenario.Client, "FA", 0)
		c.Send(scenario.Server, "FA", 0)
		c.Send(scenario.Client, "A", 0)
	}
	if err := b.Err(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func linux(tb testing.TB) tracker.Config {
	cfg, err := tracker.Profile("linux")
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// TestReadAndTrackNoAllocs proves that reading, decoding and tracking a
// segment of an established connection allocates nothing.
func TestReadAndTrackNoAllocs(t *testing.T) {
	data := established(t, 50, 400)
	r, err := capture.NewReader("allocs.pcap", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tracker.New(linux(t), func(*tracker.Conn) {})
	var seg capture.Segment
	// The handshakes and the first round, which allocate connections.
	for range 50*3 + 50*2 {
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
		tr.Track(&seg)
	}
	allocs := testing.AllocsPerRun(20000, func() {
		if err := r.Next(&seg); err != nil {
			t.Fatal(err)
		}
		tr.Track(&seg)
	})
	if allocs != 0 {
		t.Errorf("read+decode+track of an established connection: %v allocations per segment, want 0", allocs)
	}
}

var (
	benchOnce sync.Once
	benchData []byte
	// -benchcapture writes the benchmark's capture to a file, to time
	// other tools on the same bytes.
	benchCapture = flag.String("benchcapture", "", "write BenchmarkRead's generated capture to this file")
)

// BenchmarkRead reads, decodes and tracks a generated capture of
// 1,000,000 packets (2,000 connections) per iteration.
func BenchmarkRead(b *testing.B) {
	benchOnce.Do(func() {
		benchData = established(b, 2000, 248)
		if *benchCapture != "" {
			if err := os.WriteFile(*benchCapture, benchData, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.SetBytes(int64(len(benchData)))
	b.ReportAllocs()
	var packets int64
	for b.Loop() {
		r, err := capture.NewReader("bench.pcap", bytes.NewReader(benchData))
		if err != nil {
			b.Fatal(err)
		}
		conns := 0
		tr := tracker.New(linux(b), func(*tracker.Conn) { conns++ })
		var seg capture.Segment
		for {
			if err := r.Next(&seg); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			tr.Track(&seg)
		}
		tr.Flush()
		if conns != 2000 {
			b.Fatalf("%d connections, want 2000", conns)
		}
		packets = r.Stats.Packets
	}
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(packets), "packets/op")
}

// BenchmarkTrack tracks segments decoded beforehand: the tracker alone,
// with every connection released for reuse once handed on, as read does.
// Each iteration is a fresh Tracker: replaying the capture into one that
// has seen it would run time backwards, and take the packets for late
// ones of connections already handed on.
func BenchmarkTrack(b *testing.B) {
	data := established(b, 2000, 48)
	r, err := capture.NewReader("bench.pcap", bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	var segs []capture.Segment
	for {
		var seg capture.Segment
		err := r.Next(&seg)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		segs = append(segs, seg)
	}
	b.ReportAllocs()
	for b.Loop() {
		var tr *tracker.Tracker
		tr = tracker.New(linux(b), func(c *tracker.Conn) { tr.Release(c) })
		for i := range segs {
			tr.Track(&segs[i])
		}
		tr.Flush()
	}
	b.ReportMetric(float64(len(segs))*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
