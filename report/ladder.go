package report

import (
	"bufio"
	"bytes"
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
// packet. Connections are drawn in id order as soon as every earlier one
// has been. One that finishes while an earlier one is still open (a long
// download, an unanswered SYN held for the connect timeout) is drawn to
// text at once and kept until its turn: in memory up to ladderHeld bytes,
// beyond that in a temporary file, so that memory follows the connections
// still open, not the capture.
type Ladder struct {
	w        *bufio.Writer // keeps the first write error
	file     string
	want     map[uint64]bool // nil: every connection
	order    []uint64        // want's ids in order; nil: every id from 1
	next     int             // the next connection to draw: an index in order, or (order nil) its id - 1
	stream   bool            // drawing in the order connections finish (DrawFinished)
	first    time.Time       // TIME is relative to it (SetFirst)
	firstSet bool
	open     map[*tracker.Conn]*ladderConn // not finished: rows only
	held     map[uint64]heldLadder         // finished and drawn to text, waiting for an earlier one
	heldMem  int                           // bytes of held text in memory
	scratch  bytes.Buffer                  // where a held connection is drawn
	sw       *bufio.Writer                 // writes to scratch
	spill    spillFile                     // held text beyond ladderHeld
	readErr  error                         // the first error reading the spill file back
	readErrs int                           // drawings that could not be read back, reported by Close
	drawn    map[uint64]bool               // ids asked for that were drawn
	outcomes outcomeCounts
	keep     bool          // Keep: drawings kept for Drawings, not written
	html     bool          // HTML: sections of a page instead of text
	kept     []*ladderConn // in the order they finished
}

// ladderHeld is how many bytes of held drawings a Ladder keeps in memory
// before it writes them to a temporary file. A variable for the tests.
var ladderHeld = 8 << 20

// heldLadder is the drawing of a finished connection waiting for its turn:
// its text, or where it is in the spill file.
type heldLadder struct {
	text   []byte // nil: in the spill file
	off, n int64
}

// ladderConn is one finished connection of a Ladder.
type ladderConn struct {
	rec     Record
	rows    []ladderRow
	initial [2]tracker.State
	timers  []ladderTimer
	// through holds, for the rows whose packet moved a side through more
	// than one state (a FIN that acknowledges the peer's FIN: CLOSE_WAIT,
	// then LAST_ACK), every state the side entered; nil for the other side.
	through map[int][2][]tracker.State
}

// ladderRow is one packet of a connection: 48 bytes, as a ladder of
// every connection holds the rows of all those not drawn yet.
type ladderRow struct {
	frame    int64
	at       time.Duration // since Ladder.first
	seq, ack uint32
	window   uint32 // scaled, where both SYNs allowed it
	payload  int32
	flags    capture.Flags
	mss      uint16
	found    reassembly.Flags
	from     tracker.Side
	// states are both sides' states after the packet, worked out when
	// the connection has finished, from its transitions.
	states [2]tracker.State
}

// ladderTimer is a transition a timer caused, not a packet.
type ladderTimer struct {
	at   time.Duration // since Ladder.first
	side tracker.Side
	to   tracker.State
	rule tracker.Rule
}

// NewLadder returns a Ladder that draws to w the connections with the
// given ids (the table's # column) of capture file, or every connection
// if there are none. Close must be called: it also closes the temporary
// file the Ladder may have made.
func NewLadder(w io.Writer, file string, ids []uint64) *Ladder {
	l := &Ladder{
		w: bufio.NewWriter(w), file: file, open: make(map[*tracker.Conn]*ladderConn),
		held: make(map[uint64]heldLadder), drawn: make(map[uint64]bool),
	}
	if len(ids) > 0 {
		l.want = make(map[uint64]bool, len(ids))
		for _, id := range ids {
			l.want[id] = true
		}
		for id := range l.want {
			l.order = append(l.order, id)
		}
		slices.Sort(l.order)
	}
	return l
}

// SetFirst sets the time TIME counts from, as the table's START does: the
// file's first TCP segment, also where a filter left it out. Without it,
// TIME counts from the first segment Step is given.
func (l *Ladder) SetFirst(t time.Time) { l.first, l.firstSet = t, true }

// Wants reports whether the Ladder draws connection id: a tracker's
// OnStepOf need not tell it the others' packets, and may park them.
func (l *Ladder) Wants(id uint64) bool { return l.want == nil || l.want[id] }

// Step records one packet; it is a tracker's OnStep.
func (l *Ladder) Step(st tracker.Step) {
	s, c := st.Segment, st.Conn
	if !l.firstSet {
		l.SetFirst(s.Time)
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
		frame: s.Frame, at: s.Time.Sub(l.first), from: st.From, flags: s.Flags,
		seq: s.Seq, ack: s.Ack, payload: int32(s.PayloadLen), mss: s.MSS,
		window: c.Dir[st.From].ScaledWindow(&c.Dir[st.From.Peer()]),
		found:  st.Findings,
	})
}

// Finish takes a finished connection, and draws it if every connection
// before it has been; call it from the tracker's emit, before the
// connection is released.
func (l *Ladder) Finish(c *tracker.Conn) {
	l.outcomes.add(c.Outcome().ID)
	lc := l.open[c]
	if lc == nil {
		return
	}
	delete(l.open, c)
	lc.rec, lc.initial = NewRecord(l.file, c), c.Initial
	lc.replay(c, l.first)
	if l.keep {
		l.drawn[c.ID] = true
		l.kept = append(l.kept, lc)
		return
	}
	if l.stream {
		l.draw(lc)
		l.w.Flush()
		return
	}
	if c.ID != l.nextID() {
		l.hold(lc)
		return
	}
	l.draw(lc)
	for l.next++; ; l.next++ {
		id := l.nextID()
		h, ok := l.held[id]
		if !ok {
			return
		}
		l.drawHeld(id, h)
	}
}

// nextID returns the id of the next connection to draw, 0 once every one
// asked for has been.
func (l *Ladder) nextID() uint64 {
	if l.order == nil {
		return uint64(l.next) + 1
	}
	if l.next == len(l.order) {
		return 0
	}
	return l.order[l.next]
}

// hold draws lc to text and keeps it until its turn: in memory while the
// held text is within ladderHeld, else in the spill file (in memory after
// all if the file cannot be made or written).
func (l *Ladder) hold(lc *ladderConn) {
	if l.sw == nil {
		l.sw = bufio.NewWriter(&l.scratch)
	}
	l.scratch.Reset()
	l.render(lc, l.sw)
	l.sw.Flush()
	text := l.scratch.Bytes()
	defer func() {
		if l.scratch.Cap() > 1<<20 { // one long connection's: not kept
			l.scratch = bytes.Buffer{}
		}
	}()
	if l.heldMem+len(text) > ladderHeld {
		if off, ok := l.spill.add(text); ok {
			l.held[lc.rec.ID] = heldLadder{off: off, n: int64(len(text))}
			if l.spill.full() {
				l.flushSpill()
			}
			return
		}
	}
	l.held[lc.rec.ID] = heldLadder{text: bytes.Clone(text)}
	l.heldMem += len(text)
}

// flushSpill writes the spilled text gathered so far to the file; the
// drawings it could not write are kept in memory instead.
func (l *Ladder) flushSpill() {
	unwritten, from := l.spill.flush()
	if unwritten == nil {
		return
	}
	for id, h := range l.held {
		if h.text == nil && h.off >= from {
			at := h.off - from
			l.held[id] = heldLadder{text: bytes.Clone(unwritten[at : at+h.n])}
			l.heldMem += int(h.n)
		}
	}
}

// drawHeld writes the held drawing h of connection id and forgets it.
func (l *Ladder) drawHeld(id uint64, h heldLadder) {
	delete(l.held, id)
	if h.text != nil {
		l.w.Write(h.text)
		l.heldMem -= len(h.text)
	} else {
		text, err := l.spill.take(h.off, h.n)
		if err != nil {
			if l.readErrs++; l.readErr == nil {
				l.readErr = fmt.Errorf("connection %d: %w", id, err)
			}
			return
		}
		l.w.Write(text)
	}
	if l.want != nil {
		l.drawn[id] = true
	}
}

// replay works out the states after each packet from c's transitions, in
// time order: a timer's transition (TIME_WAIT expiring) is applied with
// its own time when the connection is next looked at, after packets that
// came later, which a snapshot of the states at each packet would show in
// the wrong state.
func (lc *ladderConn) replay(c *tracker.Conn, first time.Time) {
	var byFrame []tracker.Transition // in frame order, as they were inferred
	for _, tr := range c.Transitions {
		if tr.Frame == 0 {
			lc.timers = append(lc.timers, ladderTimer{at: c.Time(tr.Offset).Sub(first), side: tr.Side, to: tr.To, rule: tr.Rule})
		} else {
			byFrame = append(byFrame, tr)
		}
	}
	slices.SortStableFunc(lc.timers, func(a, b ladderTimer) int { return cmp.Compare(a.at, b.at) })
	states, t, next := c.Initial, 0, 0
	for i := range lc.rows {
		row := &lc.rows[i]
		for ; t < len(lc.timers) && lc.timers[t].at <= row.at; t++ {
			states[lc.timers[t].side] = lc.timers[t].to
		}
		from := next
		var n [2]int
		for ; next < len(byFrame) && byFrame[next].Frame <= row.frame; next++ {
			states[byFrame[next].Side] = byFrame[next].To
			n[byFrame[next].Side]++
		}
		for _, tr := range byFrame[from:next] {
			if n[tr.Side] > 1 {
				if lc.through == nil {
					lc.through = make(map[int][2][]tracker.State)
				}
				th := lc.through[i]
				th[tr.Side] = append(th[tr.Side], tr.To)
				lc.through[i] = th
			}
		}
		row.states = states
	}
}

// Missing returns the ids asked for that no connection had, in order.
func (l *Ladder) Missing() []uint64 {
	var out []uint64
	for _, id := range l.order {
		if !l.drawn[id] {
			out = append(out, id)
		}
	}
	return out
}

// draw draws lc.
func (l *Ladder) draw(lc *ladderConn) {
	if l.want != nil {
		l.drawn[lc.rec.ID] = true
	}
	l.render(lc, l.w)
}

// render draws lc to w: as text followed by an empty line, or (HTML) as a
// section of the page.
func (l *Ladder) render(lc *ladderConn, w *bufio.Writer) {
	if !l.html {
		lc.write(w)
		w.WriteString("\n")
		return
	}
	fmt.Fprintf(w, "<section>\n<h2>%s</h2>\n<p>outcome: %s</p>\n<div class=\"svg\">%s</div>\n<details><summary>as text</summary>\n<pre>%s</pre>\n</details>\n</section>\n",
		esc(lc.title()), esc(outcomeCell(&lc.rec)), lc.svg(), esc(lc.text()))
}

// DrawFinished draws every finished connection not drawn yet, and from
// then on each one as it finishes: for a capture still being written
// (standard input, a FIFO), where a connection that stays open would hold
// back every later one.
func (l *Ladder) DrawFinished() error {
	l.stream = true
	ids := make([]uint64, 0, len(l.held))
	for id := range l.held {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		l.drawHeld(id, l.held[id])
	}
	return l.w.Flush()
}

// Close draws the connections not drawn yet, in id order, then the
// footer that read's table has: the file's packets, connections by
// outcome, and the packets not tracked (late segments among them, which
// no ladder shows: they came after their connection was drawn). It
// removes the spill file and returns the first error writing met.
func (l *Ladder) Close(sum Summary) error {
	l.DrawFinished()
	switch {
	case l.keep:
	case l.html:
		var b strings.Builder
		writeFooter(&b, &l.outcomes, sum)
		fmt.Fprintf(l.w, "<pre>%s</pre>\n", esc(b.String()))
	default:
		writeFooter(l.w, &l.outcomes, sum)
	}
	err := l.w.Flush()
	l.spill.close()
	if err == nil && l.readErrs > 0 {
		err = fmt.Errorf("ladder: %s could not be read back from a temporary file (%w)", Plural(int64(l.readErrs), "connection"), l.readErr)
	}
	return err
}

// ladderItem is one line of a connection's drawing under its initial
// states: a packet, a timer's transition, or an anomaly.
type ladderItem struct {
	kind    ladderItemKind
	row     int           // the packet's index in rows (itemPacket)
	at      time.Duration // packets and timers
	states  [2]string     // each side's column after a packet or timer
	note    string        // what the data-path analysis found; a timer's rule
	anomaly *Anomaly
}

type ladderItemKind uint8

const (
	itemPacket ladderItemKind = iota
	itemTimer
	itemAnomaly
)

// items lists what lc's drawing shows, in order: each packet with the
// states after it, each timer's transition at its time, and each anomaly
// under the packet that (first) showed it, those of the end of the
// connection (frame 0) after the last packet.
func (lc *ladderConn) items() []ladderItem {
	out := make([]ladderItem, 0, len(lc.rows)+len(lc.timers)+len(lc.rec.Anomalies))
	anomalies := slices.Clone(lc.rec.Anomalies)
	slices.SortStableFunc(anomalies, func(a, b Anomaly) int { return cmp.Compare(a.Frame, b.Frame) })
	atEnd := 0
	for atEnd < len(anomalies) && anomalies[atEnd].Frame == 0 {
		atEnd++
	}
	end, anomalies := anomalies[:atEnd], anomalies[atEnd:]
	states := lc.initial
	t := 0
	timer := func(tm ladderTimer) {
		states[tm.side] = tm.to
		out = append(out, ladderItem{kind: itemTimer, at: tm.at, states: [2]string{states[tracker.Client].String(), states[tracker.Server].String()}, note: "timer: " + tm.rule.String()})
	}
	for i, row := range lc.rows {
		for ; t < len(lc.timers) && lc.timers[t].at <= row.at; t++ {
			timer(lc.timers[t])
		}
		states = row.states
		out = append(out, ladderItem{kind: itemPacket, row: i, at: row.at, states: [2]string{lc.state(i, tracker.Client), lc.state(i, tracker.Server)}, note: strings.Join(row.found.Names(), ", ")})
		for len(anomalies) > 0 && anomalies[0].Frame <= row.frame {
			out = append(out, ladderItem{kind: itemAnomaly, anomaly: &anomalies[0]})
			anomalies = anomalies[1:]
		}
	}
	for ; t < len(lc.timers); t++ {
		timer(lc.timers[t])
	}
	for i := range anomalies {
		out = append(out, ladderItem{kind: itemAnomaly, anomaly: &anomalies[i]})
	}
	for i := range end {
		out = append(out, ladderItem{kind: itemAnomaly, anomaly: &end[i]})
	}
	return out
}

// ladderSeconds is a TIME cell: seconds since the capture's first TCP
// segment.
func ladderSeconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// write draws one connection.
func (lc *ladderConn) write(w *bufio.Writer) {
	r := &lc.rec
	fmt.Fprintf(w, "%s\noutcome: %s\n\n", lc.title(), outcomeCell(r))

	labels := lc.labels()
	items := lc.items()
	width := 24
	for _, l := range labels {
		width = max(width, utf8.RuneCountInString(l)+6)
	}
	timeWidth := len("TIME")
	frameWidth := max(len("FRAME"), len(strconv.FormatInt(r.LastFrame, 10)))
	// The state columns fit ESTABLISHED, and a packet's several states.
	stateWidth := [2]int{len("ESTABLISHED"), len("ESTABLISHED")}
	for _, it := range items {
		if it.kind != itemAnomaly {
			timeWidth = max(timeWidth, len(ladderSeconds(it.at)))
		}
		if it.kind == itemPacket {
			for side := range stateWidth {
				stateWidth[side] = max(stateWidth[side], len(it.states[side]))
			}
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
	line("FRAME", "TIME", "CLIENT", "", "SERVER", "")
	line("", "", lc.initial[tracker.Client].String(), "", lc.initial[tracker.Server].String(), "")
	for _, it := range items {
		switch it.kind {
		case itemTimer:
			line("-", ladderSeconds(it.at), it.states[tracker.Client], "", it.states[tracker.Server], it.note)
		case itemPacket:
			row := &lc.rows[it.row]
			var arrow string
			pad := width - utf8.RuneCountInString(labels[it.row]) - 5
			if row.from == tracker.Client {
				arrow = "── " + labels[it.row] + " " + strings.Repeat("─", pad) + "▶"
			} else {
				arrow = "◀" + strings.Repeat("─", pad) + " " + labels[it.row] + " ──"
			}
			line(strconv.FormatInt(row.frame, 10), ladderSeconds(it.at), it.states[tracker.Client], arrow, it.states[tracker.Server], it.note)
		case itemAnomaly:
			fmt.Fprintf(w, "%*s  %s\n", frameWidth+2+timeWidth, "", anomalyLine(it.anomaly))
		}
	}
}

// text is lc drawn as text.
func (lc *ladderConn) text() string {
	var b strings.Builder
	w := bufio.NewWriter(&b)
	lc.write(w)
	w.Flush()
	return b.String()
}

// title is a drawing's first line: the connection, its endpoints and
// incarnation.
func (lc *ladderConn) title() string {
	r := &lc.rec
	s := fmt.Sprintf("connection %d: client %s, server %s%s", r.ID, clientCell(r), r.Server, vlanNote(r.VLAN))
	if r.Incarnation > 1 {
		s += fmt.Sprintf(", incarnation %d", r.Incarnation)
	}
	return s
}

// state is what row i's column of side says: the state side is in after
// the packet, or every state it entered at the packet.
func (lc *ladderConn) state(i int, side tracker.Side) string {
	through := lc.through[i][side]
	if through == nil {
		return lc.rows[i].states[side].String()
	}
	names := make([]string, len(through))
	for j, s := range through {
		names[j] = s.String()
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
