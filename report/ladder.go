package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
	"github.com/tcplens/tcplens/tracker"
)

// Ladder collects the packets of the connections it is asked for and
// draws every such connection as a ladder diagram: the client's column on
// the left, the server's on the right, one arrow per packet, as
// Wireshark's flow graph does, with the state each side is in after each
// packet.
type Ladder struct {
	file     string
	want     map[uint64]bool // nil: every connection
	first    time.Time       // the first segment's time: TIME is relative to it, like the table's START
	open     map[*tracker.Conn][]ladderRow
	done     []*ladderConn // finished, not yet drawn
	drawn    map[uint64]bool
	outcomes outcomeCounts
}

// ladderConn is one finished connection of a Ladder.
type ladderConn struct {
	rec     Record
	rows    []ladderRow
	initial [2]tracker.State
	timers  []ladderTimer
}

// ladderRow is one packet of a connection.
type ladderRow struct {
	frame    int64
	at       time.Time
	from     tracker.Side
	flags    capture.Flags
	seq, ack uint32
	payload  int
	window   uint32 // scaled, where both SYNs allowed it
	mss      uint16
	found    reassembly.Flags
	// states are both sides' states after the packet; through holds, for
	// a side the packet moved through more than one state (a FIN that
	// acknowledges the peer's FIN: CLOSE_WAIT, then LAST_ACK), every
	// state it entered, nil otherwise. Both are worked out when the
	// connection has finished, from its transitions.
	states  [2]tracker.State
	through [2][]tracker.State
}

// ladderTimer is a transition a timer caused, not a packet.
type ladderTimer struct {
	at   time.Time
	side tracker.Side
	to   tracker.State
	rule tracker.Rule
}

// NewLadder returns a Ladder of the connections with the given ids (the
// table's # column) of capture file, or of every connection if there are
// none.
func NewLadder(file string, ids []uint64) *Ladder {
	l := &Ladder{file: file, open: make(map[*tracker.Conn][]ladderRow), drawn: make(map[uint64]bool)}
	if len(ids) > 0 {
		l.want = make(map[uint64]bool, len(ids))
		for _, id := range ids {
			l.want[id] = true
		}
	}
	return l
}

// Step records one packet; it is a tracker's OnStep.
func (l *Ladder) Step(st tracker.Step) {
	s, c := st.Segment, st.Conn
	if l.first.IsZero() {
		l.first = s.Time
	}
	if l.want != nil && !l.want[c.ID] {
		return
	}
	l.open[c] = append(l.open[c], ladderRow{
		frame: s.Frame, at: s.Time, from: st.From, flags: s.Flags,
		seq: s.Seq, ack: s.Ack, payload: s.PayloadLen, mss: s.MSS,
		window: c.Dir[st.From].ScaledWindow(&c.Dir[st.From.Peer()]),
		found:  st.Findings,
	})
}

// Finish takes a finished connection; call it from the tracker's emit,
// before the connection is released.
func (l *Ladder) Finish(c *tracker.Conn) {
	l.outcomes.add(c.Outcome().ID)
	rows, ok := l.open[c]
	if !ok {
		return
	}
	delete(l.open, c)
	lc := &ladderConn{rec: NewRecord(l.file, c), rows: rows, initial: c.Initial}
	lc.replay(c)
	l.done = append(l.done, lc)
}

// replay works out the states after each packet from c's transitions, in
// time order: a timer's transition (TIME_WAIT expiring) is applied with
// its own time when the connection is next looked at, after packets that
// came later, which a snapshot of the states at each packet would show in
// the wrong state.
func (lc *ladderConn) replay(c *tracker.Conn) {
	var byFrame []tracker.Transition // in frame order, as they were inferred
	for _, tr := range c.Transitions {
		if tr.Frame == 0 {
			lc.timers = append(lc.timers, ladderTimer{at: c.Time(tr.Offset), side: tr.Side, to: tr.To, rule: tr.Rule})
		} else {
			byFrame = append(byFrame, tr)
		}
	}
	slices.SortStableFunc(lc.timers, func(a, b ladderTimer) int { return a.at.Compare(b.at) })
	states, t, next := c.Initial, 0, 0
	for i := range lc.rows {
		row := &lc.rows[i]
		for ; t < len(lc.timers) && lc.timers[t].at.Before(row.at); t++ {
			states[lc.timers[t].side] = lc.timers[t].to
		}
		first := next
		var n [2]int
		for ; next < len(byFrame) && byFrame[next].Frame <= row.frame; next++ {
			states[byFrame[next].Side] = byFrame[next].To
			n[byFrame[next].Side]++
		}
		for _, tr := range byFrame[first:next] {
			if n[tr.Side] > 1 {
				row.through[tr.Side] = append(row.through[tr.Side], tr.To)
			}
		}
		row.states = states
	}
}

// Missing returns the ids asked for that no connection had, in order.
func (l *Ladder) Missing() []uint64 {
	var out []uint64
	for id := range l.want {
		if !l.drawn[id] && !slices.ContainsFunc(l.done, func(lc *ladderConn) bool { return lc.rec.ID == id }) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// WriteFinished draws the connections finished so far, in the order they
// finished: for a capture still being written (standard input, a FIFO),
// each is drawn as it ends.
func (l *Ladder) WriteFinished(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, lc := range l.done {
		l.drawn[lc.rec.ID] = true
		lc.write(bw, l.first)
		bw.WriteString("\n")
	}
	l.done = l.done[:0]
	return bw.Flush()
}

// Write draws the connections not drawn yet, in id order, then the
// footer that read's table has: the file's packets, connections by
// outcome, and the packets not tracked (late segments among them, which
// no ladder shows: they came after their connection was drawn).
func (l *Ladder) Write(w io.Writer, sum Summary) error {
	slices.SortFunc(l.done, func(a, b *ladderConn) int { return cmp.Compare(a.rec.ID, b.rec.ID) })
	if err := l.WriteFinished(w); err != nil {
		return err
	}
	return writeFooter(w, &l.outcomes, sum)
}

// write draws one connection.
func (lc *ladderConn) write(w *bufio.Writer, first time.Time) {
	r := &lc.rec
	client := r.Client
	if r.RoleGuessed {
		client += " (guessed)"
	}
	fmt.Fprintf(w, "connection %d: client %s, server %s%s", r.ID, client, r.Server, vlanNote(r.VLAN))
	if r.Incarnation > 1 {
		fmt.Fprintf(w, ", incarnation %d", r.Incarnation)
	}
	outcome := r.OutcomeText
	if r.Partial {
		outcome += " [opening not captured]"
	}
	fmt.Fprintf(w, "\noutcome: %s\n\n", outcome)

	labels := lc.labels()
	width := 24
	for _, l := range labels {
		width = max(width, utf8.RuneCountInString(l)+6)
	}
	timeCol := func(t time.Time) string { return strconv.FormatFloat(t.Sub(first).Seconds(), 'f', 6, 64) }
	timeWidth := len("TIME")
	for _, row := range lc.rows {
		timeWidth = max(timeWidth, len(timeCol(row.at)))
	}
	for _, tm := range lc.timers {
		timeWidth = max(timeWidth, len(timeCol(tm.at)))
	}
	frameWidth := max(len("FRAME"), len(strconv.FormatInt(r.LastFrame, 10)))
	// The state columns fit ESTABLISHED, and a packet's several states.
	stateWidth := [2]int{len("ESTABLISHED"), len("ESTABLISHED")}
	for i := range lc.rows {
		for side := range stateWidth {
			stateWidth[side] = max(stateWidth[side], len(lc.rows[i].state(tracker.Side(side))))
		}
	}
	line := func(frame, at, left, arrow, right, note string) {
		arrow += strings.Repeat(" ", max(0, width-utf8.RuneCountInString(arrow)))
		s := fmt.Sprintf("%*s  %*s  %-*s  %s  %-*s", frameWidth, frame, timeWidth, at, stateWidth[0], left, arrow, stateWidth[1], right)
		if note != "" {
			s += "  " + note
		}
		w.WriteString(strings.TrimRight(s, " "))
		w.WriteString("\n")
	}
	anomaly := func(a *Anomaly) {
		fmt.Fprintf(w, "%*s  ! %s (%s, %s): %s\n", frameWidth+2+timeWidth, "", a.ID, a.Severity, a.Side, a.Text)
	}
	line("FRAME", "TIME", "CLIENT", "", "SERVER", "")
	states := lc.initial
	line("", "", states[tracker.Client].String(), "", states[tracker.Server].String(), "")

	// Anomalies go under the packet that (first) showed them; those of
	// the end of the connection (frame 0) after the last row.
	anomalies := slices.Clone(r.Anomalies)
	slices.SortStableFunc(anomalies, func(a, b Anomaly) int { return cmp.Compare(a.Frame, b.Frame) })
	atEnd := 0
	for atEnd < len(anomalies) && anomalies[atEnd].Frame == 0 {
		atEnd++
	}
	end, anomalies := anomalies[:atEnd], anomalies[atEnd:]
	t := 0
	timer := func(tm ladderTimer) {
		states[tm.side] = tm.to
		line("-", timeCol(tm.at), states[tracker.Client].String(), "", states[tracker.Server].String(), "timer: "+tm.rule.String())
	}
	for i, row := range lc.rows {
		for ; t < len(lc.timers) && lc.timers[t].at.Before(row.at); t++ {
			timer(lc.timers[t])
		}
		var arrow string
		pad := width - utf8.RuneCountInString(labels[i]) - 5
		if row.from == tracker.Client {
			arrow = "── " + labels[i] + " " + strings.Repeat("─", pad) + "▶"
		} else {
			arrow = "◀" + strings.Repeat("─", pad) + " " + labels[i] + " ──"
		}
		states = row.states
		line(strconv.FormatInt(row.frame, 10), timeCol(row.at), row.state(tracker.Client), arrow, row.state(tracker.Server), strings.Join(row.found.Names(), ", "))
		for len(anomalies) > 0 && anomalies[0].Frame <= row.frame {
			anomaly(&anomalies[0])
			anomalies = anomalies[1:]
		}
	}
	for ; t < len(lc.timers); t++ {
		timer(lc.timers[t])
	}
	for i := range anomalies {
		anomaly(&anomalies[i])
	}
	for i := range end {
		anomaly(&end[i])
	}
}

// state is what the row's column of side says: the state side is in
// after the packet, or every state it entered at the packet.
func (row *ladderRow) state(side tracker.Side) string {
	if row.through[side] == nil {
		return row.states[side].String()
	}
	names := make([]string, len(row.through[side]))
	for i, s := range row.through[side] {
		names[i] = s.String()
	}
	return strings.Join(names, " > ")
}

// labels returns what each packet's arrow says, as Wireshark's Info
// column: flags, sequence and acknowledgment numbers relative to each
// side's base, window, payload length and the MSS of a SYN. As in
// Wireshark, a side's base is its ISN where its SYN was the first of its
// packets; else one below the first acknowledgment of its data the peer
// sent, or one below its first sequence number, whichever came first.
func (lc *ladderConn) labels() []string {
	var base [2]uint32
	var known [2]bool
	out := make([]string, len(lc.rows))
	for i := range lc.rows {
		row := &lc.rows[i]
		from, peer := row.from, row.from.Peer()
		if !known[from] {
			base[from], known[from] = row.seq-1, true
			if row.flags&capture.SYN != 0 {
				base[from] = row.seq
			}
		}
		ack := row.flags&capture.ACK != 0
		if ack && !known[peer] {
			base[peer], known[peer] = row.ack-1, true
		}
		var b strings.Builder
		b.WriteString(flagNames(row.flags))
		fmt.Fprintf(&b, " seq=%d", row.seq-base[from])
		if ack {
			fmt.Fprintf(&b, " ack=%d", row.ack-base[peer])
		}
		fmt.Fprintf(&b, " win=%d len=%d", row.window, row.payload)
		if row.mss != 0 {
			fmt.Fprintf(&b, " mss=%d", row.mss)
		}
		out[i] = b.String()
	}
	return out
}

// flagNames spells the control bits as Wireshark does, "[SYN, ACK]".
func flagNames(f capture.Flags) string {
	var names []string
	for _, c := range [...]struct {
		bit  capture.Flags
		name string
	}{{capture.FIN, "FIN"}, {capture.SYN, "SYN"}, {capture.RST, "RST"}, {capture.PSH, "PSH"}, {capture.ACK, "ACK"}, {capture.URG, "URG"}, {capture.ECE, "ECE"}, {capture.CWR, "CWR"}, {capture.AE, "AE"}} {
		if f&c.bit != 0 {
			names = append(names, c.name)
		}
	}
	return "[" + strings.Join(names, ", ") + "]"
}
