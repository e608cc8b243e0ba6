package report_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

// AppendConn must write, byte for byte, what encoding/json writes for the
// record: on every connection of every capture in testdata/ and
// ../shared/captures/, with VLANs, anomalies, ignored RSTs and all.
func TestAppendConnMatchesEncodingJSON(t *testing.T) {
	conns := 0
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	var buf []byte
	files := report.TrackCaptures(t, func(file string, _ time.Time, c *tracker.Conn) {
		conns++
		want.Reset()
		rec := report.NewRecord(file, c)
		if err := enc.Encode(&rec); err != nil {
			t.Fatal(err)
		}
		buf = report.AppendConn(buf[:0], file, c)
		if !bytes.Equal(buf, want.Bytes()) {
			t.Errorf("%s connection %d:\n got %s\nwant %s", file, c.ID, buf, want.Bytes())
		}
	})
	if files < 10 {
		t.Fatalf("only %d captures found", files)
	}
	t.Logf("%d connections of %d captures compared", conns, files)
}

// Strings that need escaping come out as encoding/json writes them.
func TestAppendStringEscapes(t *testing.T) {
	for _, s := range []string{"plain", `quote " back \ slash`, "tab\tnew\nline\r\x00\x1f", "<html> & more", "bad \xff utf8", "line\u2028sep\u2029", "ünïcödé ✓"} {
		want, _ := json.Marshal(s)
		c := &tracker.Conn{}
		got := report.AppendConn(nil, s, c)
		if !bytes.Contains(got, append([]byte(`"file":`), want...)) {
			t.Errorf("%q: got %s, want the file as %s", s, got, want)
		}
	}
}

// States, sides and rules outside the tables AppendConn formats from
// (values no tracker makes) come out as encoding/json writes them too.
func TestAppendConnOutOfRangeValues(t *testing.T) {
	c := &tracker.Conn{Initial: [2]tracker.State{tracker.Closed, 200}, State: [2]tracker.State{tracker.TimeWait, 17}}
	c.Client, c.Server = netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")
	c.Start = time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC)
	c.Last = c.Start.Add(time.Second)
	c.Transitions = []tracker.Transition{
		{Frame: 1, Offset: 0, Side: tracker.Client, From: tracker.Closed, To: tracker.SynSent, Rule: 250},
		{Frame: 2, Offset: c.Last.Sub(c.Start), Side: tracker.Server, From: 200, To: 17, Rule: tracker.Rule(3)},
		{Frame: 3, Offset: c.Last.Sub(c.Start), Side: 7, From: tracker.SynSent, To: tracker.TimeWait},
	}
	rec := report.NewRecord("x.pcap", c)
	want, err := json.Marshal(&rec)
	if err != nil {
		t.Fatal(err)
	}
	got := report.AppendConn(nil, "x.pcap", c)
	if !bytes.Equal(got, append(want, '\n')) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Captures whose times Unix nanoseconds cannot hold (pcapng's Simple
// Packet Blocks carry none, and come with the zero time, year 1; a clock
// far off) keep their transitions' times exactly, in NDJSON as in JSON.
func TestTransitionTimesOutsideUnixNanoRange(t *testing.T) {
	for _, start := range []time.Time{{}, time.Date(1600, 5, 1, 12, 0, 0, 7, time.UTC), time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)} {
		cfg, _ := tracker.Profile("linux")
		var conns []*tracker.Conn
		tr := tracker.New(cfg, func(c *tracker.Conn) { conns = append(conns, c) })
		cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")
		for i, s := range []capture.Segment{
			{Src: cli, Dst: srv, Flags: capture.SYN, Seq: 100},
			{Src: srv, Dst: cli, Flags: capture.SYN | capture.ACK, Seq: 500, Ack: 101},
			{Src: cli, Dst: srv, Flags: capture.ACK, Seq: 101, Ack: 501},
		} {
			s.Frame, s.Time, s.Window, s.WindowScale = int64(i+1), start.Add(time.Duration(i)*time.Millisecond), 1000, capture.NoWindowScale
			tr.Track(&s)
		}
		tr.Flush()
		if len(conns) != 1 || len(conns[0].Transitions) == 0 {
			t.Fatalf("%v: %d connections", start, len(conns))
		}
		c := conns[0]
		last := c.Transitions[len(c.Transitions)-1]
		if got, want := c.Time(last.Offset), start.Add(2*time.Millisecond); !got.Equal(want) {
			t.Errorf("%v: last transition at %v, want %v", start, got, want)
		}
		rec := report.NewRecord("x.pcapng", c)
		want, _ := json.Marshal(&rec)
		if got := report.AppendConn(nil, "x.pcapng", c); !bytes.Equal(got, append(want, '\n')) {
			t.Errorf("%v:\n got  %s\n want %s", start, got, want)
		}
		if !bytes.Contains(want, []byte(`"time":"`+start.Add(time.Millisecond).Format(time.RFC3339Nano)+`"`)) {
			t.Errorf("%v: no transition at %v in %s", start, start.Add(time.Millisecond), want)
		}
	}
}

// BenchmarkAppendConn formats the records of the demo capture's
// connections (graceful closes both ways, a refusal, a reset, one open).
func BenchmarkAppendConn(b *testing.B) {
	r, err := capture.Open("../testdata/demo.pcapng")
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	cfg, _ := tracker.Profile("linux")
	var conns []*tracker.Conn
	tr := tracker.New(cfg, func(c *tracker.Conn) { conns = append(conns, c) })
	var seg capture.Segment
	for r.Next(&seg) == nil {
		tr.Track(&seg)
	}
	tr.Flush()
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		for _, c := range conns {
			buf = report.AppendConn(buf[:0], "demo.pcapng", c)
		}
	}
	b.ReportMetric(float64(len(conns))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// WriteJSONDocs writes what WriteJSON writes, from compact records: on the
// connections of every capture, and with none.
func TestWriteJSONDocsMatchesWriteJSON(t *testing.T) {
	var recs []report.Record
	var docs []report.Doc
	report.TrackCaptures(t, func(file string, _ time.Time, c *tracker.Conn) {
		recs = append(recs, report.NewRecord(file, c))
		docs = append(docs, report.Doc{ID: c.ID, JSON: report.AppendConn(nil, file, c)})
	})
	if len(docs) < 100 {
		t.Fatalf("only %d connections", len(docs))
	}
	for _, n := range []int{0, 1, 2, len(docs)} {
		var want, got bytes.Buffer
		if err := report.WriteJSON(&want, recs[:n]); err != nil {
			t.Fatal(err)
		}
		if err := report.WriteJSONDocs(&got, docs[:n]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%d records: WriteJSONDocs differs from WriteJSON (%d vs %d bytes)", n, got.Len(), want.Len())
		}
	}
}
