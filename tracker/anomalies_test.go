package tracker_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/tracker"
)

// anomalyWant is one expected anomaly: of which connection (in emission
// order), its id, side, frame and severity.
type anomalyWant struct {
	Conn     int
	ID       string
	Side     tracker.Side
	Frame    int64
	Severity tracker.Severity
	Count    int
}

// anomalyCases script one problem each. Expected frames are counted by hand
// from the script (comments give the frame numbers).
var anomalyCases = []struct {
	name  string
	build func(b *scenario.Builder)
	want  []anomalyWant
	text  string // a phrase the first wanted anomaly's text must contain
}{{
	name: "clean connection carries none",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()                 // 1-3
		c.Send(fromClient, "PA", 100) // 4
		c.Send(fromServer, "PA", 200) // 5
		c.Send(fromClient, "A", 0)    // 6
		closeByClient(c)              // 7-10
	},
}, {
	name: "syn-unanswered with retransmissions",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		syn := c.Send(fromClient, "S", 0) // 1
		b.Advance(time.Second)
		c.Write(syn) // 2
		b.Advance(2 * time.Second)
		c.Write(syn) // 3
	},
	want: []anomalyWant{
		{0, tracker.AnomalySYNUnanswered, tracker.Client, 1, tracker.Error, 1},
		{0, tracker.AnomalySYNRetransmitted, tracker.Client, 2, tracker.Warning, 2},
		// The data-path view of the same SYNs, as Wireshark counts them.
		{0, tracker.AnomalyRetransmission, tracker.Client, 2, tracker.Warning, 2},
	},
	text: "sent 3 time(s) and never answered (gaps 1s, 2s)",
}, {
	name: "syn-refused",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Send(fromClient, "S", 0) // 1
		rst := c.Segment(fromServer, "RA", 0)
		rst.Seq = 0
		c.Write(rst) // 2
	},
	want: []anomalyWant{{0, tracker.AnomalySYNRefused, tracker.Server, 2, tracker.Warning, 1}},
	text: "nothing listens on port 80",
}, {
	name: "handshake-incomplete",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Send(fromClient, "S", 0)  // 1
		c.Send(fromServer, "SA", 0) // 2
	},
	want: []anomalyWant{{0, tracker.AnomalyHandshakeIncomplete, tracker.Server, 2, tracker.Error, 1}},
}, {
	name: "synack-retransmitted",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Send(fromClient, "S", 0)        // 1
		sa := c.Send(fromServer, "SA", 0) // 2
		b.Advance(time.Second)
		c.Write(sa)                // 3
		c.Send(fromClient, "A", 0) // 4
		closeByClient(c)           // 5-8
	},
	want: []anomalyWant{
		{0, tracker.AnomalySYNACKRetransmitted, tracker.Server, 3, tracker.Warning, 1},
		{0, tracker.AnomalyRetransmission, tracker.Server, 3, tracker.Warning, 1},
	},
	text: "SYN-ACK sent 2 times (gaps 1s)",
}, {
	name: "simultaneous-open",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Send(fromClient, "S", 0) // 1
		c.Send(fromServer, "S", 0) // 2
		sa := c.Segment(fromClient, "SA", 0)
		sa.Seq = 1000
		c.Write(sa) // 3
		sa = c.Segment(fromServer, "SA", 0)
		sa.Seq = 5000
		c.Write(sa)      // 4
		closeByClient(c) // 5-8
	},
	want: []anomalyWant{
		{0, tracker.AnomalySimultaneousOpen, tracker.Client, 3, tracker.Info, 1},
		{0, tracker.AnomalySimultaneousOpen, tracker.Server, 4, tracker.Info, 1},
	},
}, {
	name: "simultaneous-close",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()               // 1-3
		c.Send(fromClient, "FA", 0) // 4: the server's ACK number does not cover it yet
		fin := c.Segment(fromServer, "FA", 0)
		fin.Ack = 1001
		c.Write(fin)                // 5: the server's FIN crosses the client's
		c.SetNext(fromServer, 5002) // the server's FIN used 5001
		c.Send(fromClient, "A", 0)  // 6: the client acknowledges the server's FIN: CLOSING
		c.Send(fromServer, "A", 0)  // 7
	},
	want: []anomalyWant{{0, tracker.AnomalySimultaneousClose, tracker.Client, 6, tracker.Info, 1}},
}, {
	name: "missing-final-ack: FIN retransmitted, never acknowledged",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()                      // 1-3
		c.Send(fromClient, "FA", 0)        // 4
		c.Send(fromServer, "A", 0)         // 5
		fin := c.Send(fromServer, "FA", 0) // 6
		c.Drop(fromClient, "A", 0)
		b.Advance(200 * time.Millisecond)
		c.Write(fin) // 7
		b.Advance(400 * time.Millisecond)
		c.Write(fin) // 8
	},
	want: []anomalyWant{
		{0, tracker.AnomalyFINRetransmitted, tracker.Server, 7, tracker.Warning, 2},
		{0, tracker.AnomalyRetransmission, tracker.Server, 7, tracker.Warning, 2},
		{0, tracker.AnomalyMissingFinalACK, tracker.Server, 6, tracker.Warning, 1},
	},
	text: "", // checked below by the text test
}, {
	name: "missing-final-ack: acknowledged only after a retransmission",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()                      // 1-3
		c.Send(fromClient, "FA", 0)        // 4
		c.Send(fromServer, "A", 0)         // 5
		fin := c.Send(fromServer, "FA", 0) // 6
		b.Advance(200 * time.Millisecond)
		c.Write(fin)               // 7
		c.Send(fromClient, "A", 0) // 8
	},
	want: []anomalyWant{
		{0, tracker.AnomalyFINRetransmitted, tracker.Server, 7, tracker.Warning, 1},
		// Wireshark's analysis counts the FIN's retransmission too.
		{0, tracker.AnomalyRetransmission, tracker.Server, 7, tracker.Warning, 1},
		{0, tracker.AnomalyMissingFinalACK, tracker.Server, 6, tracker.Warning, 1},
	},
}, {
	name: "close-wait-stuck",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()               // 1-3
		c.Send(fromClient, "FA", 0) // 4
		c.Send(fromServer, "A", 0)  // 5: the server has the FIN, never closes
		other := b.Conn("10.0.0.3:40000", pathServer)
		other.Handshake() // 6-8
		for range 6 {     // 9-14: the capture goes on
			b.Advance(time.Second)
			other.Send(fromClient, "PA", 1)
		}
	},
	want: []anomalyWant{
		{0, tracker.AnomalyCloseWaitStuck, tracker.Server, 5, tracker.Error, 1},
		{0, tracker.AnomalyOpenAtEnd, tracker.Client, 0, tracker.Info, 1},
		{1, tracker.AnomalyOpenAtEnd, tracker.Client, 0, tracker.Info, 1},
	},
	text: "the server acknowledged the peer's FIN at frame 5 but had not closed 6s later",
}, {
	name: "fin-wait-2-stuck",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()               // 1-3
		c.Send(fromClient, "FA", 0) // 4
		c.Send(fromServer, "A", 0)  // 5
		other := b.Conn("10.0.0.3:40000", pathServer)
		other.Handshake() // 6-8
		for range 4 {     // 9-12, 20 s apart
			b.Advance(20 * time.Second)
			other.Send(fromClient, "PA", 1)
		}
	},
	want: []anomalyWant{
		{0, tracker.AnomalyCloseWaitStuck, tracker.Server, 5, tracker.Error, 1},
		{0, tracker.AnomalyFinWait2Stuck, tracker.Client, 5, tracker.Warning, 1},
		{0, tracker.AnomalyOpenAtEnd, tracker.Client, 0, tracker.Info, 1},
		{1, tracker.AnomalyOpenAtEnd, tracker.Client, 0, tracker.Info, 1},
	},
}, {
	name: "reuse-in-time-wait accepted by RFC 6191",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()               // 1-3
		c.Send(fromServer, "FA", 0) // 4: the server closes first
		c.Send(fromClient, "FA", 0) // 5
		c.Send(fromServer, "A", 0)  // 6: the server is in TIME_WAIT
		b.Advance(2 * time.Second)
		d := b.Conn(pathClient, pathServer, scenario.ISN(90000, 7000))
		d.Handshake() // 7-9
	},
	want: []anomalyWant{
		{1, tracker.AnomalyReuseInTimeWait, tracker.Server, 7, tracker.Warning, 1},
		{1, tracker.AnomalyOpenAtEnd, tracker.Client, 0, tracker.Info, 1},
	},
	text: "RFC 6191 accepts it: ISN 90000 is above the old connection's last sequence number 1002; the server accepted it (SYN-ACK at frame 8)",
}, {
	name: "reuse-in-time-wait rejected: ISN below the old sequence",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer, scenario.ISN(500000, 5000))
		c.Handshake()               // 1-3
		c.Send(fromServer, "FA", 0) // 4
		c.Send(fromClient, "FA", 0) // 5
		c.Send(fromServer, "A", 0)  // 6
		b.Advance(2 * time.Second)
		d := b.Conn(pathClient, pathServer, scenario.ISN(1000, 7000))
		d.Send(fromClient, "S", 0) // 7
		ack := d.Segment(fromServer, "A", 0)
		ack.Seq, ack.Ack = 5002, 500002
		d.Write(ack) // 8: the old connection's ACK
	},
	want: []anomalyWant{
		{1, tracker.AnomalyReuseInTimeWait, tracker.Server, 7, tracker.Error, 1},
		{1, tracker.AnomalySYNUnanswered, tracker.Client, 7, tracker.Error, 1}, // answered only with the old connection's ACK
	},
	text: "reject it: ISN 1000 is not above the old connection's last sequence number 500002",
}, {
	name: "reuse-while-open",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake() // 1-3
		b.Advance(time.Second)
		d := b.Conn(pathClient, pathServer, scenario.ISN(90000, 7000))
		d.Handshake() // 4-6
	},
	want: []anomalyWant{
		{1, tracker.AnomalyReuseWhileOpen, tracker.Client, 4, tracker.Error, 1},
		{1, tracker.AnomalyOpenAtEnd, tracker.Client, 0, tracker.Info, 1},
	},
}, {
	name: "time-wait-assassination",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()    // 1-3
		closeByClient(c) // 4-7: the client in TIME_WAIT
		rst := c.Segment(fromServer, "R", 0)
		rst.Seq = 5001 // the client's RCV.NXT... its highest ACK covers the FIN: 5002
		rst.Seq = 5002
		c.Write(rst) // 8
	},
	want: []anomalyWant{{0, tracker.AnomalyTimeWaitAssassination, tracker.Client, 8, tracker.Warning, 1}},
}, {
	name: "rst-abort",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()                // 1-3
		c.Send(fromClient, "PA", 10) // 4
		c.Send(fromServer, "A", 0)   // 5
		c.Send(fromClient, "RA", 0)  // 6
	},
	want: []anomalyWant{{0, tracker.AnomalyRSTAbort, tracker.Client, 6, tracker.Warning, 1}},
	text: "the client reset the connection at frame 6 in ESTABLISHED",
}, {
	name: "rst-out-of-window",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer, scenario.Window(1000, 1000))
		c.Handshake() // 1-3
		rst := c.Segment(fromClient, "R", 0)
		rst.Seq += 50000
		c.Write(rst) // 4
	},
	want: []anomalyWant{
		{0, tracker.AnomalyRSTOutOfWindow, tracker.Client, 4, tracker.Warning, 1},
		{0, tracker.AnomalyOpenAtEnd, tracker.Client, 0, tracker.Info, 1},
	},
}, {
	name: "rst-challenge-ack",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake() // 1-3
		rst := c.Segment(fromClient, "R", 0)
		rst.Seq += 100 // in the window, not at RCV.NXT
		c.Write(rst)   // 4
	},
	want: []anomalyWant{
		{0, tracker.AnomalyRSTAbort, tracker.Client, 4, tracker.Warning, 1},
		{0, tracker.AnomalyRSTChallengeACK, tracker.Client, 4, tracker.Info, 1},
	},
}, {
	name: "data-after-fin",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()                // 1-3
		c.Send(fromClient, "FA", 0)  // 4
		c.Send(fromClient, "PA", 10) // 5: data past the FIN
		c.Send(fromServer, "A", 0)   // 6
	},
	want: []anomalyWant{
		{0, tracker.AnomalyDataAfterFIN, tracker.Client, 5, tracker.Error, 1},
		{0, tracker.AnomalyOpenAtEnd, tracker.Client, 0, tracker.Info, 1},
	},
}, {
	name: "data-after-rst",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Handshake()                // 1-3
		c.Send(fromClient, "RA", 0)  // 4
		c.Send(fromServer, "PA", 10) // 5
		c.Send(fromServer, "PA", 10) // 6
	},
	want: []anomalyWant{
		{0, tracker.AnomalyRSTAbort, tracker.Client, 4, tracker.Warning, 1},
		{0, tracker.AnomalyDataAfterRST, tracker.Server, 5, tracker.Warning, 2},
	},
}, {
	name: "partial-start",
	build: func(b *scenario.Builder) {
		c := b.Conn(pathClient, pathServer)
		c.Drop(fromClient, "S", 0)
		c.Drop(fromServer, "SA", 0)
		c.Drop(fromClient, "A", 0)
		c.Send(fromServer, "PA", 10) // 1
		closeByClient(c)             // 2-5
	},
	want: []anomalyWant{{0, tracker.AnomalyPartialStart, tracker.Server, 1, tracker.Info, 1}},
}}

func TestAnomalies(t *testing.T) {
	for _, tc := range anomalyCases {
		t.Run(tc.name, func(t *testing.T) {
			b := scenario.New(scenario.Options{})
			tc.build(b)
			mustBuild(t, b)
			run := trackCapture(t, b.Bytes())
			var got []anomalyWant
			var texts []string
			for i, c := range run.conns {
				for _, a := range c.Anomalies {
					got = append(got, anomalyWant{i, a.ID, a.Side, a.Frame, a.Severity, a.Count})
					texts = append(texts, a.Text)
					if _, ok := tracker.KindOf(a.ID); !ok {
						t.Errorf("anomaly %q is not in the catalog", a.ID)
					}
				}
			}
			sortWants(got)
			want := slices.Clone(tc.want)
			sortWants(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("anomalies (-want +got):\n%s\ntexts:\n%s", diff, strings.Join(texts, "\n"))
			}
			if tc.text != "" && !slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, tc.text) }) {
				t.Errorf("no anomaly text contains %q; texts:\n%s", tc.text, strings.Join(texts, "\n"))
			}
		})
	}
}

func sortWants(w []anomalyWant) {
	slices.SortFunc(w, func(a, b anomalyWant) int {
		if a.Conn != b.Conn {
			return a.Conn - b.Conn
		}
		return strings.Compare(a.ID+a.Side.String(), b.ID+b.Side.String())
	})
}

// TestCatalogIDsAreTested makes sure every lifecycle id in the catalog has
// a case above.
func TestCatalogIDsAreTested(t *testing.T) {
	// open-at-end comes with many cases; table-full has TestTableFull.
	tested := map[string]bool{tracker.AnomalyOpenAtEnd: true, tracker.AnomalyTableFull: true}
	for _, tc := range anomalyCases {
		for _, w := range tc.want {
			tested[w.ID] = true
		}
	}
	for _, k := range tracker.Catalog {
		if !tested[k.ID] && !dataPathID(k.ID) {
			t.Errorf("catalog id %q has no scenario test", k.ID)
		}
	}
}

// dataPathID reports whether id is classified per segment by the
// reassembly package (tested there) rather than by the tracker.
func dataPathID(id string) bool {
	for _, k := range tracker.Catalog[len(tracker.Catalog)-tracker.NumDataPathKinds:] {
		if k.ID == id {
			return true
		}
	}
	return false
}
