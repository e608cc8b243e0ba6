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

// Ladder collects the packets of the connections it is asked for, each
// with both sides' states after it, and draws every such connection as a
// ladder diagram: the client's column on the left, the server's on the
// right, one arrow per packet, as Wireshark's flow graph does, with the
// state each side is in after each packet.
type Ladder struct {
	file  string
	want  map[uint64]bool // nil: every connection
	first time.Time       // the first segment's time: TIME is relative to it, like the table's START
	open  map[*tracker.Conn]*ladderConn
	done  []*ladderConn
}

// ladderConn is one connection of a Ladder.
type ladderConn struct {
	rows    []ladderRow
	rec     Record
	initial [2]tracker.State
	timers  []ladderTimer
}

// ladderTimer is a transition a timer caused, not a packet.
type ladderTimer struct {
	at   time.Time
	side tracker.Side
	to   tracker.State
	rule tracker.Rule
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
	states   [2]tracker.State // after the packet
	found    reassembly.Flags
	// through holds, for a side the packet moved through more than one
	// state (a FIN that acknowledges the peer's FIN: CLOSE_WAIT, then
	// LAST_ACK), every state it entered; nil otherwise.
	through [2][]tracker.State
}

// NewLadder returns a Ladder of the connections with the given ids (the
// table's # column) of capture file, or of every connection if there are
// none.
func NewLadder(file string, ids []uint64) *Ladder {
	l := &Ladder{file: file, open: make(map[*tracker.Conn]*ladderConn)}
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
	lc := l.open[c]
	if lc == nil {
		lc = &ladderConn{}
		l.open[c] = lc
	}
	lc.rows = append(lc.rows, ladderRow{
		frame: s.Frame, at: s.Time, from: st.From, flags: s.Flags,
		seq: s.Seq, ack: s.Ack, payload: s.PayloadLen, mss: s.MSS,
		window: c.Dir[st.From].ScaledWindow(&c.Dir[st.From.Peer()]),
		states: c.State, found: st.Findings,
	})
	row := &lc.rows[len(lc.rows)-1]
	var n [2]int
	i := len(c.Transitions)
	for i > 0 && c.Transitions[i-1].Frame == s.Frame {
		i--
		n[c.Transitions[i].Side]++
	}
	for ; i < len(c.Transitions); i++ {
		if tr := c.Transitions[i]; n[tr.Side] > 1 {
			row.through[tr.Side] = append(row.through[tr.Side], tr.To)
		}
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

// Finish takes a finished connection's record; call it from the tracker's
// emit, before the connection is released.
func (l *Ladder) Finish(c *tracker.Conn) {
	lc := l.open[c]
	if lc == nil {
		return
	}
	delete(l.open, c)
	lc.rec = NewRecord(l.file, c)
	lc.initial = c.Initial
	for _, tr := range c.Transitions {
		if tr.Frame == 0 {
			lc.timers = append(lc.timers, ladderTimer{at: c.Time(tr.Offset), side: tr.Side, to: tr.To, rule: tr.Rule})
		}
	}
	l.done = append(l.done, lc)
}

// Missing returns the ids asked for that no connection had, in order.
func (l *Ladder) Missing() []uint64 {
	var out []uint64
	for id := range l.want {
		if !slices.ContainsFunc(l.done, func(lc *ladderConn) bool { return lc.rec.ID == id }) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Write draws the finished connections in id order.
func (l *Ladder) Write(w io.Writer) error {
	slices.SortFunc(l.done, func(a, b *ladderConn) int { return cmp.Compare(a.rec.ID, b.rec.ID) })
	bw := bufio.NewWriter(w)
	for i, lc := range l.done {
		if i > 0 {
			bw.WriteString("\n")
		}
		lc.write(bw, l.first)
	}
	return bw.Flush()
}

// write draws one connection.
func (lc *ladderConn) write(w *bufio.Writer, first time.Time) {
	r := &lc.rec
	client := r.Client
	if r.RoleGuessed {
		client += " (guessed)"
	}
	fmt.Fprintf(w, "connection %d: client %s, server %s\n", r.ID, client, r.Server)
	outcome := r.OutcomeText
	if r.Partial {
		outcome += " [opening not captured]"
	}
	fmt.Fprintf(w, "outcome: %s\n\n", outcome)

	// Sequence numbers relative to each side's first one (its ISN where
	// its SYN was seen), as Wireshark shows them.
	var base [2]uint32
	var hasBase [2]bool
	for _, row := range lc.rows {
		if !hasBase[row.from] {
			base[row.from], hasBase[row.from] = row.seq, true
		}
	}
	labels := make([]string, len(lc.rows))
	width := 24
	for i := range lc.rows {
		labels[i] = lc.rows[i].label(base, hasBase)
		width = max(width, utf8.RuneCountInString(labels[i])+6)
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
		s := fmt.Sprintf("%*s  %*s  %-*s  %-*s  %-*s", frameWidth, frame, timeWidth, at, stateWidth[0], left, width, arrow, stateWidth[1], right)
		if note != "" {
			s += "  " + note
		}
		w.WriteString(strings.TrimRight(s, " "))
		w.WriteString("\n")
	}
	line("FRAME", "TIME", "CLIENT", "", "SERVER", "")
	states := lc.initial
	line("", "", states[tracker.Client].String(), "", states[tracker.Server].String(), "")

	// Anomalies go under the packet that showed them, those of the end
	// of the capture (frame 0) after the last row.
	anomalies := slices.Clone(r.Anomalies)
	slices.SortStableFunc(anomalies, func(a, b Anomaly) int { return cmp.Compare(a.Frame, b.Frame) })
	noted := 0
	note := func(frame int64) {
		for ; noted < len(anomalies) && anomalies[noted].Frame <= frame && anomalies[noted].Frame != 0; noted++ {
			a := anomalies[noted]
			fmt.Fprintf(w, "%*s  ! %s (%s, %s): %s\n", frameWidth+2+timeWidth, "", a.ID, a.Severity, a.Side, a.Text)
		}
	}
	for noted < len(anomalies) && anomalies[noted].Frame == 0 {
		noted++ // frame 0 sorts first: kept for the end
	}
	endAnomalies := anomalies[:noted]
	anomalies = anomalies[noted:]
	noted = 0

	t := 0
	timerRow := func(tm ladderTimer) {
		states[tm.side] = tm.to
		line("-", timeCol(tm.at), states[tracker.Client].String(), "", states[tracker.Server].String(), "timer: "+tm.rule.String())
	}
	for i, row := range lc.rows {
		for ; t < len(lc.timers) && lc.timers[t].at.Before(row.at); t++ {
			timerRow(lc.timers[t])
		}
		var arrow string
		pad := width - utf8.RuneCountInString(labels[i]) - 4
		if row.from == tracker.Client {
			arrow = "── " + labels[i] + " " + strings.Repeat("─", pad) + "▶"
		} else {
			arrow = "◀" + strings.Repeat("─", pad) + " " + labels[i] + " ──"
		}
		states = row.states
		line(strconv.FormatInt(row.frame, 10), timeCol(row.at), row.state(tracker.Client), arrow, row.state(tracker.Server), strings.Join(row.found.Names(), ", "))
		note(row.frame)
	}
	for ; t < len(lc.timers); t++ {
		timerRow(lc.timers[t])
	}
	note(1<<63 - 1)
	for _, a := range endAnomalies {
		fmt.Fprintf(w, "%*s  ! %s (%s, %s): %s\n", frameWidth+2+timeWidth, "", a.ID, a.Severity, a.Side, a.Text)
	}
}

// label is what the arrow of a packet says, as Wireshark's Info column:
// flags, relative sequence and acknowledgment numbers, window, payload
// length and the MSS of a SYN.
func (row *ladderRow) label(base [2]uint32, hasBase [2]bool) string {
	var b strings.Builder
	b.WriteString(flagNames(row.flags))
	fmt.Fprintf(&b, " seq=%d", row.seq-base[row.from])
	if row.flags&capture.ACK != 0 {
		if peer := row.from.Peer(); hasBase[peer] {
			fmt.Fprintf(&b, " ack=%d", row.ack-base[peer])
		} else {
			fmt.Fprintf(&b, " ack=%d", row.ack)
		}
	}
	fmt.Fprintf(&b, " win=%d len=%d", row.window, row.payload)
	if row.mss != 0 {
		fmt.Fprintf(&b, " mss=%d", row.mss)
	}
	return b.String()
}

// flagNames spells the control bits as Wireshark does, "[SYN, ACK]".
func flagNames(f capture.Flags) string {
	var names []string
	for _, c := range [...]struct {
		bit  capture.Flags
		name string
	}{{capture.FIN, "FIN"}, {capture.SYN, "SYN"}, {capture.RST, "RST"}, {capture.PSH, "PSH"}, {capture.ACK, "ACK"}, {capture.URG, "URG"}, {capture.ECE, "ECE"}, {capture.CWR, "CWR"}} {
		if f&c.bit != 0 {
			names = append(names, c.name)
		}
	}
	return "[" + strings.Join(names, ", ") + "]"
}
