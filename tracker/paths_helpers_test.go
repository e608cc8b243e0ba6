package tracker_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/tracker"
)

// The endpoints most path tests use: an ephemeral client port and a
// well-known server port.
const (
	pathClient = "10.0.0.1:40000"
	pathServer = "10.0.0.2:80"
)

// Who sends, in scenario terms.
const (
	fromClient = scenario.Client
	fromServer = scenario.Server
)

// step is one state transition in a form that diffs readably: sides,
// states and rules by their names.
type step struct {
	Side     string
	From, To string
	Frame    int64 // 0 for a timer
	Rule     string
}

func clientStep(from, to tracker.State, frame int64, rule tracker.Rule) step {
	return step{tracker.Client.String(), from.String(), to.String(), frame, rule.String()}
}

func serverStep(from, to tracker.State, frame int64, rule tracker.Rule) step {
	return step{tracker.Server.String(), from.String(), to.String(), frame, rule.String()}
}

func states(s ...tracker.State) []tracker.State { return s }

// handshakeSteps are the transitions of a three-way handshake whose SYN,
// SYN-ACK and ACK are frames syn, synAck and ack.
func handshakeSteps(syn, synAck, ack int64) []step {
	return []step{
		clientStep(tracker.Closed, tracker.SynSent, syn, tracker.RuleSentSYN),
		serverStep(tracker.Listen, tracker.SynReceived, synAck, tracker.RuleSentSYNACK),
		clientStep(tracker.SynSent, tracker.Established, ack, tracker.RuleSentACKOfSYN),
		serverStep(tracker.SynReceived, tracker.Established, ack, tracker.RuleGotACKOfSYN),
	}
}

// clientCloseSteps are the transitions of closeByClient whose first FIN is
// frame f: FIN (f), ACK (f+1), FIN (f+2), ACK (f+3).
func clientCloseSteps(f int64) []step {
	return []step{
		clientStep(tracker.Established, tracker.FinWait1, f, tracker.RuleSentFIN),
		serverStep(tracker.Established, tracker.CloseWait, f+1, tracker.RuleSentACKOfFIN),
		clientStep(tracker.FinWait1, tracker.FinWait2, f+1, tracker.RuleGotACKOfFIN),
		serverStep(tracker.CloseWait, tracker.LastAck, f+2, tracker.RuleSentFIN),
		clientStep(tracker.FinWait2, tracker.TimeWait, f+3, tracker.RuleSentACKOfFIN),
		serverStep(tracker.LastAck, tracker.Closed, f+3, tracker.RuleGotACKOfFIN),
	}
}

// Full state sequences of a handshake followed by closeByClient.
var (
	clientClosedStates = states(tracker.Closed, tracker.SynSent, tracker.Established, tracker.FinWait1, tracker.FinWait2, tracker.TimeWait)
	serverClosedStates = states(tracker.Listen, tracker.SynReceived, tracker.Established, tracker.CloseWait, tracker.LastAck, tracker.Closed)
)

// closeByClient writes the four-segment active close by the client: FIN,
// the server's ACK, the server's FIN, the client's final ACK. It returns
// the four packets.
func closeByClient(c *scenario.Conn) [4]scenario.Packet {
	return [4]scenario.Packet{
		c.Send(fromClient, "FA", 0),
		c.Send(fromServer, "A", 0),
		c.Send(fromServer, "FA", 0),
		c.Send(fromClient, "A", 0),
	}
}

// steps concatenates step lists.
func steps(lists ...[]step) []step {
	var out []step
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// connWant is what one emitted connection must look like. Steps are in
// capture order; only the order within each side is compared, since the
// model does not order two sides' transitions caused by the same frame.
type connWant struct {
	client, server string    // default pathClient, pathServer
	vlan           [2]uint16 // outer first
	incarnation    int       // default 1
	partial        bool
	guessed        bool // RoleGuessed
	clientStates   []tracker.State
	serverStates   []tracker.State
	steps          []step
	outcome        string
	ignoredRSTs    int
}

// connView is the compared form of a connection.
type connView struct {
	Client, Server string
	VLAN           [2]uint16
	Incarnation    int
	Partial        bool
	RoleGuessed    bool
	ClientStates   []string
	ServerStates   []string
	ClientSteps    []step
	ServerSteps    []step
	Outcome        string
	IgnoredRSTs    int
}

func stateNames(ss []tracker.State) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return out
}

func bySide(all []step) (client, server []step) {
	for _, s := range all {
		if s.Side == tracker.Client.String() {
			client = append(client, s)
		} else {
			server = append(server, s)
		}
	}
	return client, server
}

func (w connWant) view() connView {
	v := connView{
		Client: w.client, Server: w.server, VLAN: w.vlan, Incarnation: w.incarnation,
		Partial: w.partial, RoleGuessed: w.guessed,
		ClientStates: stateNames(w.clientStates), ServerStates: stateNames(w.serverStates),
		Outcome: w.outcome, IgnoredRSTs: w.ignoredRSTs,
	}
	if v.Client == "" {
		v.Client = pathClient
	}
	if v.Server == "" {
		v.Server = pathServer
	}
	if v.Incarnation == 0 {
		v.Incarnation = 1
	}
	v.ClientSteps, v.ServerSteps = bySide(w.steps)
	return v
}

// checkConsistent fails if the want's state sequences do not follow from
// its steps: a typo in the table, not a bug in the tracker.
func (w connWant) checkConsistent(t *testing.T) {
	t.Helper()
	cs, ss := bySide(w.steps)
	for _, side := range []struct {
		name   string
		states []tracker.State
		steps  []step
	}{{"client", w.clientStates, cs}, {"server", w.serverStates, ss}} {
		if len(side.states) != len(side.steps)+1 {
			t.Fatalf("bad table: %s has %d states but %d steps", side.name, len(side.states), len(side.steps))
		}
		for i, s := range side.steps {
			if s.From != side.states[i].String() || s.To != side.states[i+1].String() {
				t.Fatalf("bad table: %s step %d %s→%s does not match states %v", side.name, i, s.From, s.To, side.states)
			}
		}
	}
}

func viewOf(c *tracker.Conn) connView {
	var all []step
	for _, tr := range c.Transitions {
		all = append(all, step{tr.Side.String(), tr.From.String(), tr.To.String(), tr.Frame, tr.Rule.String()})
	}
	v := connView{
		Client: c.Client.String(), Server: c.Server.String(), VLAN: c.Key.VLAN,
		Incarnation: c.Incarnation, Partial: c.Partial, RoleGuessed: c.RoleGuessed,
		ClientStates: stateNames(c.States(tracker.Client)),
		ServerStates: stateNames(c.States(tracker.Server)),
		Outcome:      c.Outcome().ID, IgnoredRSTs: c.IgnoredRSTs,
	}
	v.ClientSteps, v.ServerSteps = bySide(all)
	return v
}

// pathConfig is the Linux profile: MSL 30 s, so TIME_WAIT lasts 60 s.
func pathConfig(tb testing.TB) tracker.Config {
	tb.Helper()
	cfg, err := tracker.Profile("linux")
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// trackRun is what tracking one capture produced.
type trackRun struct {
	conns     []*tracker.Conn // in the order they were emitted
	emittedAt []int64         // frame being tracked when each was emitted; 0 at Flush
	segments  int64           // TCP segments read
	stats     capture.Stats
	evicted   int64
}

// trackCapture reads a capture the way a user's file is read and tracks
// every segment, then flushes.
func trackCapture(t *testing.T, data []byte) trackRun {
	t.Helper()
	return trackCaptureWith(t, data, pathConfig(t), nil)
}

// trackCaptureWith is trackCapture with a configuration, handing every
// event to onEvent when it is not nil.
func trackCaptureWith(t *testing.T, data []byte, cfg tracker.Config, onEvent func(tracker.Event)) trackRun {
	t.Helper()
	r, err := capture.NewReader("paths.pcap", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var run trackRun
	var current int64
	tr := tracker.New(cfg, func(c *tracker.Conn) {
		run.conns = append(run.conns, c)
		run.emittedAt = append(run.emittedAt, current)
	})
	if onEvent != nil {
		tr.OnEvent(onEvent)
	}
	var seg capture.Segment
	for {
		err := r.Next(&seg)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the capture: %v", err)
		}
		run.segments++
		current = seg.Frame
		tr.Track(&seg)
	}
	current = 0
	tr.Flush()
	if n := tr.Open(); n != 0 {
		t.Errorf("after Flush the tracker still holds %d connections", n)
	}
	run.stats = r.Stats
	run.evicted = tr.Evicted()
	seen := make(map[*tracker.Conn]bool)
	for _, c := range run.conns {
		if seen[c] {
			t.Errorf("connection %d (%s) emitted twice", c.ID, c.Client)
		}
		seen[c] = true
		checkTransitionOrder(t, c)
	}
	return run
}

// checkTransitionOrder fails if a connection's transitions go back in
// time, or if a frame-caused transition has a frame outside the
// connection's frames.
func checkTransitionOrder(t *testing.T, c *tracker.Conn) {
	t.Helper()
	var last time.Time
	for i, tr := range c.Transitions {
		at := c.Time(tr.Offset)
		if at.Before(last) {
			t.Errorf("conn %d: transition %d (%v %v→%v, frame %d) at %v, before the previous one at %v",
				c.ID, i, tr.Side, tr.From, tr.To, tr.Frame, at, last)
		}
		last = at
		if tr.Frame != 0 && (tr.Frame < c.FirstFrame || tr.Frame > c.LastFrame) {
			t.Errorf("conn %d: transition %d at frame %d, outside the connection's frames %d-%d",
				c.ID, i, tr.Frame, c.FirstFrame, c.LastFrame)
		}
	}
}

// packetsOf is the number of segments a connection counted, both ways.
func packetsOf(c *tracker.Conn) int64 {
	return c.Dir[tracker.Client].Packets + c.Dir[tracker.Server].Packets
}

// checkPacketSum fails unless the emitted connections' packet counts add up
// to the TCP segments in the capture, written tcp of them.
func checkPacketSum(t *testing.T, run trackRun, tcp int) {
	t.Helper()
	var sum int64
	for _, c := range run.conns {
		sum += packetsOf(c)
	}
	if run.segments != int64(tcp) || run.stats.Tracked() != int64(tcp) {
		t.Errorf("read %d segments (stats: %d tracked), wrote %d TCP packets", run.segments, run.stats.Tracked(), tcp)
	}
	if sum != int64(tcp) {
		t.Errorf("connections count %d packets in all, want the %d TCP packets written", sum, tcp)
	}
}

// checkConns compares the emitted connections with want, in order.
func checkConns(t *testing.T, got []*tracker.Conn, want []connWant) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("connection %d not emitted; want %+v", i+1, want[i].view())
		case i >= len(want):
			t.Errorf("unexpected connection %d emitted: %+v", i+1, viewOf(got[i]))
		default:
			if diff := cmp.Diff(want[i].view(), viewOf(got[i])); diff != "" {
				t.Errorf("connection %d (emitted #%d) mismatch (-want +got):\n%s", got[i].ID, i+1, diff)
			}
		}
	}
}

// rawFrames returns the link-layer frames of a pcap file, in order.
func rawFrames(t *testing.T, data []byte) [][]byte {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		d, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(d))
	}
}

// mustBuild fails the test if b recorded an error.
func mustBuild(t *testing.T, b *scenario.Builder) {
	t.Helper()
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
}
