package tracker_test

import (
	"encoding/binary"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

// fuzzEndpoints are the few addresses the fuzzer's segments travel
// between, so that segments meet on the same 4-tuples.
var fuzzEndpoints = []netip.AddrPort{
	netip.MustParseAddrPort("10.0.0.1:40000"),
	netip.MustParseAddrPort("10.0.0.2:80"),
	netip.MustParseAddrPort("10.0.0.3:40001"),
	netip.MustParseAddrPort("[2001:db8::1]:443"),
}

// FuzzTrack feeds arbitrary segment sequences on a few 4-tuples to the
// tracker. Invariants: no panic; every segment is accounted to exactly one
// emitted connection; every transition is an edge of the state diagram
// (tracker.Edges) and names a frame of its connection (or 0 for a timer).
func FuzzTrack(f *testing.F) {
	f.Add([]byte{0, 1, 0x02, 0, 0, 0, 0, 1, 0x12, 0, 0, 0, 0, 0, 0x10, 0, 0, 0})
	f.Add([]byte("\x00\x01\x02\x00\x00\x10\x01\x00\x12\x00\x00\x10\x00\x01\x10\x05\x00\x10\x00\x01\x11\x00\x00\x10\x01\x00\x11\x00\x00\x10\x00\x01\x10\x00\x00\x10"))
	f.Add([]byte("\x00\x01\x02\x00\x00\x00\x01\x00\x14\x00\x00\x00\x00\x01\x04\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _ := tracker.Profile("linux")
		// Short timeouts and, for odd lengths, a small table, so that idle
		// expiry and eviction run too.
		cfg.IdleTimeout, cfg.ConnectTimeout = 40*time.Second, 20*time.Second
		if len(data)%2 == 1 {
			cfg.MaxConns = 3
		}
		var emitted []*tracker.Conn
		var want, got []byte
		ladder := report.NewLadder(io.Discard, "fuzz", nil)
		tr := tracker.New(cfg, func(c *tracker.Conn) {
			emitted = append(emitted, c)
			want = report.AppendConn(want, "fuzz", c)
			ladder.Finish(c)
		})
		steps := int64(0)
		tr.OnStep(func(st tracker.Step) {
			steps++
			ladder.Step(st)
		})
		// A second tracker releases every connection it hands on, so that
		// its connections are reused, and parks SYN-only ones: it must
		// hand on the same records.
		parkCfg := cfg
		parkCfg.Park = true
		var rel *tracker.Tracker
		rel = tracker.New(parkCfg, func(c *tracker.Conn) {
			got = report.AppendConn(got, "fuzz", c)
			rel.Release(c)
		})
		// Two workers, parking and releasing, must hand on the same
		// records too (but with a small table: MaxConns is per worker).
		var sharded []byte
		var sh *tracker.Sharded
		sh = tracker.NewSharded(parkCfg, 2, func(c *tracker.Conn) {
			sharded = report.AppendConn(sharded, "fuzz", c)
			sh.Release(c)
		})
		defer sh.Flush()
		events := 0
		tr.OnEvent(func(e tracker.Event) {
			if e.Transition != nil {
				events++
			}
		})
		var next [4][4]uint32 // next seq per (src, dst) pair, so some segments fit
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var seg capture.Segment
		var frames int64
		const recordLen = 6
		for len(data) >= recordLen {
			r := data[:recordLen]
			data = data[recordLen:]
			src, dst := int(r[0])%len(fuzzEndpoints), int(r[1])%len(fuzzEndpoints)
			if src == dst || fuzzEndpoints[src].Addr().Is4() != fuzzEndpoints[dst].Addr().Is4() {
				continue
			}
			frames++
			flags := capture.Flags(r[2])
			payload := int(r[3] % 4 * 100)
			seq := next[src][dst]
			switch r[4] % 4 {
			case 1:
				seq += uint32(r[5]) << 8
			case 2:
				seq -= uint32(r[5])
			case 3:
				seq = binary.BigEndian.Uint32(append([]byte{r[5], r[4]}, r[2], r[3]))
			}
			ack := next[dst][src] - uint32(r[5]%3)
			now = now.Add(time.Duration(r[5]) * 100 * time.Millisecond)
			seg = capture.Segment{
				Frame: frames, Time: now, Src: fuzzEndpoints[src], Dst: fuzzEndpoints[dst],
				Seq: seq, Ack: ack, Flags: flags, Window: uint16(r[5]) << 4, PayloadLen: payload,
				WindowScale: int8(r[4]%16) - 1,
			}
			tr.Track(&seg)
			seg2 := seg
			rel.Track(&seg2)
			seg3 := seg
			sh.Track(&seg3)
			if end := seq + seg.SeqLen(); int32(end-next[src][dst]) > 0 {
				next[src][dst] = end
			}
		}
		tr.Flush()
		rel.Flush()
		sh.Flush()
		if string(got) != string(want) {
			t.Fatalf("with Release and Park the records differ:\n got %s\nwant %s", got, want)
		}
		if cfg.MaxConns == 0 && string(sharded) != string(want) {
			t.Fatalf("two workers hand on other records:\n got %s\nwant %s", sharded, want)
		}
		if tr.Open() != 0 {
			t.Fatalf("%d connections left after Flush", tr.Open())
		}
		var packets int64
		for _, c := range emitted {
			packets += c.Dir[tracker.Client].Packets + c.Dir[tracker.Server].Packets
			for _, tr := range c.Transitions {
				if !tracker.Edges[tracker.Edge{From: tr.From, To: tr.To}] {
					t.Errorf("connection %d: %s %s -> %s (rule %s, frame %d) is not an edge of the state diagram", c.ID, tr.Side, tr.From, tr.To, tr.Rule, tr.Frame)
				}
				if tr.Frame != 0 && (tr.Frame < c.FirstFrame || tr.Frame > c.LastFrame) {
					t.Errorf("connection %d: transition at frame %d outside its frames %d-%d", c.ID, tr.Frame, c.FirstFrame, c.LastFrame)
				}
			}
			_ = c.Outcome()
		}
		transitions := 0
		for _, c := range emitted {
			transitions += len(c.Transitions)
		}
		if events != transitions {
			t.Errorf("%d transition events for %d transitions", events, transitions)
		}
		if packets+tr.Late() != frames {
			t.Fatalf("connections account for %d segments and %d were late, %d were tracked", packets, tr.Late(), frames)
		}
		if steps != packets {
			t.Errorf("%d steps for the %d segments connections took", steps, packets)
		}
		if err := ladder.Close(report.Summary{File: "fuzz"}); err != nil {
			t.Fatal(err)
		}
	})
}
