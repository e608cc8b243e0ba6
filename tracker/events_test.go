package tracker_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/tracker"
)

// A full table evicts the least recently active connection, reports it
// as table-full with its own outcome, and counts it.
func TestTableFull(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c1 := b.Conn("10.0.0.1:40001", pathServer)
	c2 := b.Conn("10.0.0.1:40002", pathServer)
	c3 := b.Conn("10.0.0.1:40003", pathServer)
	c1.Handshake() // 1-3
	b.Advance(time.Second)
	c2.Handshake() // 4-6
	b.Advance(time.Second)
	c1.Send(fromClient, "PA", 10) // 7: c1 is now more recent than c2
	b.Advance(time.Second)
	c3.Handshake() // 8-10: the table holds 2, so c2 goes
	mustBuild(t, b)

	cfg := pathConfig(t)
	cfg.MaxConns = 2
	run := trackCaptureWith(t, b.Bytes(), cfg, nil)
	if run.evicted != 1 {
		t.Errorf("Evicted() = %d, want 1", run.evicted)
	}
	if len(run.conns) != 3 {
		t.Fatalf("%d connections, want 3", len(run.conns))
	}
	ev := run.conns[0]
	if ev.Client.Port() != 40002 || run.emittedAt[0] != 8 {
		t.Fatalf("first emitted: client port %d at frame %d; want 40002 evicted at frame 8", ev.Client.Port(), run.emittedAt[0])
	}
	if o := ev.Outcome(); o.ID != tracker.OutcomeEvicted {
		t.Errorf("evicted connection's outcome = %v, want %s", o, tracker.OutcomeEvicted)
	}
	if !hasAnomaly(ev, tracker.AnomalyTableFull) {
		t.Errorf("evicted connection lacks %s: %+v", tracker.AnomalyTableFull, ev.Anomalies)
	}
	for _, c := range run.conns[1:] {
		if hasAnomaly(c, tracker.AnomalyTableFull) {
			t.Errorf("connection from port %d was not evicted but has %s", c.Client.Port(), tracker.AnomalyTableFull)
		}
	}
}

func hasAnomaly(c *tracker.Conn, id string) bool {
	for _, a := range c.Anomalies {
		if a.ID == id {
			return true
		}
	}
	return false
}

// Events come as they are inferred: every transition once, in order, and
// close-wait-stuck while the connection is still open, not at its end.
func TestEvents(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn(pathClient, pathServer)
	c.Handshake()               // 1-3
	c.Send(fromClient, "FA", 0) // 4
	c.Send(fromServer, "A", 0)  // 5: server in CLOSE_WAIT
	tick := b.Conn("10.0.0.1:40009", pathServer)
	tick.Handshake() // 6-8
	for range 8 {
		b.Advance(time.Second)
		tick.Send(fromClient, "PA", 1) // 9, 10, ...
	}
	mustBuild(t, b)

	type seen struct {
		what  string
		frame int64 // the frame being tracked when the event came; 0 at the end
	}
	var events []seen
	var current int64
	var transitions int
	onEvent := func(e tracker.Event) {
		switch {
		case e.Transition != nil && e.Anomaly == nil:
			transitions++
			if e.Conn.Client.Port() == 40000 {
				events = append(events, seen{fmt.Sprintf("%s %s>%s", e.Transition.Side, e.Transition.From, e.Transition.To), current})
			}
		case e.Anomaly != nil && e.Transition == nil:
			if e.Conn.Client.Port() == 40000 {
				events = append(events, seen{e.Anomaly.ID, current})
			}
		default:
			t.Errorf("event with both or neither of Transition and Anomaly: %+v", e)
		}
	}
	// Track by hand to know the frame each event arrives with.
	r, err := capture.NewReader("events.pcap", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var conns []*tracker.Conn
	tr := tracker.New(pathConfig(t), func(c *tracker.Conn) { conns = append(conns, c) })
	tr.OnEvent(onEvent)
	var seg capture.Segment
	for r.Next(&seg) == nil {
		current = seg.Frame
		tr.Track(&seg)
	}
	current = 0
	tr.Flush()

	want := []seen{
		{"client CLOSED>SYN_SENT", 1},
		{"server LISTEN>SYN_RCVD", 2},
		{"client SYN_SENT>ESTABLISHED", 3},
		{"server SYN_RCVD>ESTABLISHED", 3},
		{"client ESTABLISHED>FIN_WAIT_1", 4},
		{"server ESTABLISHED>CLOSE_WAIT", 5},
		{"client FIN_WAIT_1>FIN_WAIT_2", 5},
		// At the first packet 5 s after frame 5: the ticks come every
		// second from frame 9 (+1 s), so frame 13 (+5 s).
		{tracker.AnomalyCloseWaitStuck, 13},
		{tracker.AnomalyOpenAtEnd, 0},
	}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events of the half-closed connection:\n got %v\nwant %v", events, want)
	}
	total := 0
	for _, c := range conns {
		total += len(c.Transitions)
		if n := countID(c, tracker.AnomalyCloseWaitStuck); n > 1 {
			t.Errorf("close-wait-stuck noted %d times", n)
		}
	}
	if transitions != total {
		t.Errorf("%d transition events, but the connections have %d transitions", transitions, total)
	}
}

func countID(c *tracker.Conn, id string) int {
	n := 0
	for _, a := range c.Anomalies {
		if a.ID == id {
			n++
		}
	}
	return n
}

// Advance runs timers without packets: a closed connection (the client in
// TIME_WAIT) is handed on once 2 s of capture time have passed without
// packets.
func TestAdvance(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn(pathClient, pathServer)
	c.Handshake()    // 1-3
	closeByClient(c) // 4-7
	mustBuild(t, b)
	r, err := capture.NewReader("advance.pcap", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var got []*tracker.Conn
	tr := tracker.New(pathConfig(t), func(c *tracker.Conn) { got = append(got, c) })
	var seg capture.Segment
	var last time.Time
	for r.Next(&seg) == nil {
		tr.Track(&seg)
		last = seg.Time
	}
	tr.Advance(last.Add(1900 * time.Millisecond))
	if len(got) != 0 {
		t.Fatalf("connection handed on 1.9 s after its last packet, within the linger")
	}
	tr.Advance(last.Add(3 * time.Second))
	if len(got) != 1 || tr.Open() != 0 {
		t.Fatalf("after 3 s: %d handed on, %d open; want 1 and 0", len(got), tr.Open())
	}
	if s := got[0].State[tracker.Client]; s != tracker.TimeWait {
		t.Errorf("client state %s, want TIME_WAIT (60 s had not passed)", s)
	}
}

// NoteCaptureLoss marks open connections, and only those, as incomplete.
func TestNoteCaptureLoss(t *testing.T) {
	b := scenario.New(scenario.Options{})
	done := b.Conn("10.0.0.1:40001", pathServer)
	done.Handshake()
	done.Send(fromClient, "RA", 0)
	b.Advance(20 * time.Second) // past the closed linger
	open := b.Conn("10.0.0.1:40002", pathServer)
	open.Handshake()
	mustBuild(t, b)
	r, err := capture.NewReader("loss.pcap", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var got []*tracker.Conn
	tr := tracker.New(pathConfig(t), func(c *tracker.Conn) { got = append(got, c) })
	var seg capture.Segment
	for r.Next(&seg) == nil {
		tr.Track(&seg)
	}
	tr.NoteCaptureLoss(3)
	tr.Flush()
	for _, c := range got {
		if want := c.Client.Port() == 40002; c.CaptureLoss != want {
			t.Errorf("port %d: CaptureLoss = %v, want %v", c.Client.Port(), c.CaptureLoss, want)
		}
	}
}

// A SYN that reuses a 4-tuple after its closed connection was handed on,
// while the old TIME_WAIT would still last, is judged against what the
// tracker remembered; after the TIME_WAIT it is an ordinary new connection.
func TestReuseAfterHandOn(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn(pathClient, pathServer)
	c.Handshake()    // 1-3
	closeByClient(c) // 4-7: client TIME_WAIT from frame 7
	b.Advance(30 * time.Second)
	d := b.Conn(pathClient, pathServer, scenario.ISN(900000, 700000))
	d.Handshake()               // 8-10: 30 s later, ISN above the old one
	d.Send(fromServer, "FA", 0) // 11: the server closes first
	d.Send(fromClient, "A", 0)  // 12
	d.Send(fromClient, "FA", 0) // 13
	d.Send(fromServer, "A", 0)  // 14: now the server holds TIME_WAIT
	b.Advance(61 * time.Second)
	e := b.Conn(pathClient, pathServer, scenario.ISN(5000000, 6000000))
	e.Handshake() // 15-17: after the TIME_WAIT
	mustBuild(t, b)

	run := trackCapture(t, b.Bytes())
	if len(run.conns) != 3 {
		t.Fatalf("%d connections, want 3", len(run.conns))
	}
	first, second, third := run.conns[0], run.conns[1], run.conns[2]
	if run.emittedAt[0] != 8 || first.State[tracker.Client] != tracker.TimeWait {
		t.Errorf("first connection handed on at frame %d with the client in %s; want frame 8, TIME_WAIT", run.emittedAt[0], first.State[tracker.Client])
	}
	if second.Incarnation != 2 || third.Incarnation != 1 {
		t.Errorf("incarnations %d, %d; want 2, then 1 (the TIME_WAIT it would follow had ended)", second.Incarnation, third.Incarnation)
	}
	var reuse *tracker.Anomaly
	for i := range second.Anomalies {
		if second.Anomalies[i].ID == tracker.AnomalyReuseInTimeWait {
			reuse = &second.Anomalies[i]
		}
	}
	if reuse == nil {
		t.Fatalf("second connection lacks %s: %+v", tracker.AnomalyReuseInTimeWait, second.Anomalies)
	}
	for _, want := range []string{"frame 8", "the connection that began at frame 1", "its client (10.0.0.1:40000)", "TIME_WAIT for 30s", "the TIME_WAIT is on the SYN's own host"} {
		if !strings.Contains(reuse.Text, want) {
			t.Errorf("reuse text %q lacks %q", reuse.Text, want)
		}
	}
	if reuse.Side != tracker.Client || reuse.Frame != 8 {
		t.Errorf("reuse side %s frame %d, want client, 8", reuse.Side, reuse.Frame)
	}
	if hasAnomaly(third, tracker.AnomalyReuseInTimeWait) {
		t.Errorf("third connection, 61 s after the server's TIME_WAIT began, is reported as a reuse")
	}
}

// A segment on the 4-tuple of a closed connection that was already handed
// on (here the server's FIN again, 5 s later) is counted as late, not taken
// for a new connection picked up mid-stream.
func TestLateSegment(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn(pathClient, pathServer)
	c.Handshake()               // 1-3
	closing := closeByClient(c) // 4-7
	b.Advance(5 * time.Second)  //
	c.Write(closing[2])         // 8: the server's FIN, retransmitted
	other := b.Conn("10.0.0.3:40001", pathServer)
	other.Handshake() // 9-11
	mustBuild(t, b)

	cfg := pathConfig(t)
	r, err := capture.NewReader("late.pcap", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var got []*tracker.Conn
	tr := tracker.New(cfg, func(c *tracker.Conn) { got = append(got, c) })
	var seg capture.Segment
	for r.Next(&seg) == nil {
		tr.Track(&seg)
	}
	tr.Flush()
	if len(got) != 2 || tr.Late() != 1 {
		t.Fatalf("%d connections and %d late segments, want 2 and 1", len(got), tr.Late())
	}
	if got[0].Dir[tracker.Server].Packets != 3 || got[1].Client.Port() != 40001 {
		t.Errorf("the late FIN went to a connection: %d server packets in the first; second from port %d", got[0].Dir[tracker.Server].Packets, got[1].Client.Port())
	}
}

// A TIME_WAIT whose peer is still open (here left in LAST_ACK, the final
// ACK never seen) ends after 2*MSL even without a timer of its own: the
// expiry is applied, with its own time, when the connection is next looked
// at, at the latest when the capture ends.
func TestTimeWaitExpiresWhilePeerOpen(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn(pathClient, pathServer)
	c.Handshake()                      // 1-3
	c.Send(fromClient, "FA", 0)        // 4
	fin := c.Send(fromServer, "FA", 0) // 5: acknowledges the client's FIN: client TIME_WAIT
	c.Drop(fromClient, "A", 0)         // the final ACK is not captured: server LAST_ACK
	other := b.Conn("10.0.0.3:40001", pathServer)
	b.Advance(70 * time.Second)
	other.Handshake() // 6-8
	mustBuild(t, b)

	run := trackCapture(t, b.Bytes())
	first := run.conns[0]
	if first.Client.Port() != 40000 {
		first = run.conns[1]
	}
	last := first.Transitions[len(first.Transitions)-1]
	if last.Side != tracker.Client || last.To != tracker.Closed || last.Rule != tracker.RuleTimeWaitExpired || !first.Time(last.Offset).Equal(fin.Time.Add(60*time.Second)) {
		t.Errorf("last transition %+v; want the client's TIME_WAIT expiring 60 s after frame 5", last)
	}
	if s := first.State[tracker.Server]; s != tracker.LastAck {
		t.Errorf("server in %s, want LAST_ACK", s)
	}
}

// A data-path anomaly's event says what was seen when it was first seen
// (one retransmission); the connection's record, handed on at the end,
// counts them all.
func TestDataPathEventText(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn(pathClient, pathServer)
	c.Handshake() // 1-3
	seq := c.Next(fromClient)
	c.Send(fromClient, "PA", 100) // 4
	for range 2 {
		c.SetNext(fromClient, seq)
		c.Send(fromClient, "PA", 100) // 5, 6: retransmissions
	}
	mustBuild(t, b)

	var texts []string
	run := trackCaptureWith(t, b.Bytes(), pathConfig(t), func(e tracker.Event) {
		if e.Anomaly != nil && e.Anomaly.ID == tracker.AnomalyRetransmission {
			texts = append(texts, e.Anomaly.Text)
		}
	})
	if want := []string{"the client retransmitted 1 segment, first at frame 5"}; !slices.Equal(texts, want) {
		t.Errorf("retransmission events %q, want %q", texts, want)
	}
	for _, a := range run.conns[0].Anomalies {
		if a.ID == tracker.AnomalyRetransmission && a.Text != "the client retransmitted 2 segments, first at frame 5" {
			t.Errorf("final text %q", a.Text)
		}
	}
}
