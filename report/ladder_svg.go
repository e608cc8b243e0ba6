package report

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/tcplens/tcplens/tracker"
)

// LadderDrawing is one connection drawn by a Ladder that keeps its
// drawings (Keep): as text, as tcplens ladder prints it, and as SVG.
type LadderDrawing struct {
	Conn uint64
	Text string
	SVG  string
}

// The SVG's geometry, in pixels: a monospace font of svgFont pixels is
// about svgChar wide a character.
const (
	svgFont   = 12
	svgChar   = 7.3
	svgRow    = 22
	svgMargin = 10
)

// svg draws lc as an SVG image: FRAME and TIME on the left, the client's
// and the server's vertical lines with each side's state beside its line
// after every packet (a change in bold), an arrow per packet labelled as
// in the text drawing, timers' transitions in grey, anomalies in their severity's colour
// under their packet. Every text is escaped.
func (lc *ladderConn) svg() string {
	labels := lc.labels()
	items := lc.items()
	chars := func(s string) float64 { return float64(utf8.RuneCountInString(s)) * svgChar }
	// Columns: frame (right-aligned), time (right-aligned), client state
	// (right-aligned against the client's line), the arrows, server state,
	// notes.
	frameW, timeW, stateW := chars("FRAME"), chars("TIME"), chars("ESTABLISHED")
	labelW, noteW, anomalyW := 24*svgChar, 0.0, 0.0
	for _, it := range items {
		switch it.kind {
		case itemAnomaly:
			anomalyW = max(anomalyW, chars(anomalyLine(it.anomaly)))
		default:
			timeW = max(timeW, chars(ladderSeconds(it.at)))
			stateW = max(stateW, chars(it.states[0]), chars(it.states[1]))
			noteW = max(noteW, chars(it.note))
			if it.kind == itemPacket {
				frameW = max(frameW, chars(strconv.FormatInt(lc.rows[it.row].frame, 10)))
				labelW = max(labelW, chars(labels[it.row])+4*svgChar)
			}
		}
	}
	frameX := svgMargin + frameW
	timeX := frameX + 2*svgChar + timeW
	clientX := timeX + 2*svgChar + stateW + svgChar
	serverX := clientX + labelW
	noteX := serverX + svgChar + stateW + 2*svgChar
	width := max(noteX+noteW, timeX+2*svgChar+anomalyW, serverX+svgChar+chars(lc.rec.Server)) + svgMargin
	top := 3.0 * svgRow // title, header, initial states
	height := top + float64(len(items))*svgRow + svgMargin

	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="%d">`+"\n", width, height, width, height, svgFont)
	w(`<title>%s</title>`+"\n", esc(lc.title()))
	text := func(x, y float64, anchor, class, s string) {
		w(`<text x="%.1f" y="%.1f" text-anchor="%s" class="%s"%s>%s</text>`+"\n", x, y, anchor, class, svgLook[class], esc(s))
	}
	y := float64(svgRow) - 6
	text(frameX, y, "end", "head", "FRAME")
	text(timeX, y, "end", "head", "TIME")
	text(clientX, y, "middle", "head", "CLIENT "+clientCell(&lc.rec))
	text(serverX, y, "middle", "head", "SERVER "+lc.rec.Server)
	y += svgRow
	text(clientX-svgChar, y, "end", "state", lc.initial[tracker.Client].String())
	text(serverX+svgChar, y, "start", "state", lc.initial[tracker.Server].String())
	w(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999"/>`+"\n", clientX, y+6, clientX, height-svgMargin)
	w(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999"/>`+"\n", serverX, y+6, serverX, height-svgMargin)
	prev := [2]string{lc.initial[tracker.Client].String(), lc.initial[tracker.Server].String()}
	for _, it := range items {
		y += svgRow
		state := func(side tracker.Side, x float64, anchor string) {
			class := "state"
			if it.states[side] != prev[side] {
				class = "state changed"
			}
			text(x, y, anchor, class, it.states[side])
		}
		switch it.kind {
		case itemAnomaly:
			a := it.anomaly
			text(timeX+2*svgChar, y, "start", "anomaly "+a.Severity, anomalyLine(a))
			continue
		case itemTimer:
			text(frameX, y, "end", "timer", "-")
			text((clientX+serverX)/2, y, "middle", "timer", it.note)
		case itemPacket:
			row := &lc.rows[it.row]
			text(frameX, y, "end", "frame", strconv.FormatInt(row.frame, 10))
			x1, x2 := clientX, serverX
			if row.from == tracker.Server {
				x1, x2 = serverX, clientX
			}
			// The head is drawn, not a marker: a marker needs an id, and a
			// page of several drawings would repeat it.
			head := 8.0
			if x2 < x1 {
				head = -8
			}
			w(`<line class="arrow" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", x1, y+2, x2-head, y+2)
			w(`<path d="M %.1f %.1f L %.1f %.1f L %.1f %.1f z" fill="#333"/>`+"\n", x2, y+2, x2-head, y-2, x2-head, y+6)
			text((clientX+serverX)/2, y-3, "middle", "label", labels[it.row])
			if it.note != "" {
				text(noteX, y, "start", "note", it.note)
			}
		}
		text(timeX, y, "end", "time", ladderSeconds(it.at))
		state(tracker.Client, clientX-svgChar, "end")
		state(tracker.Server, serverX+svgChar, "start")
		prev = it.states
	}
	w("</svg>\n")
	return b.String()
}

// svgLook is how each class of text looks, as attributes, so that an SVG
// looks the same on its own as in a page.
var svgLook = map[string]string{
	"head":            ` font-weight="bold"`,
	"state changed":   ` font-weight="bold"`,
	"timer":           ` fill="#777" font-style="italic"`,
	"note":            ` fill="#555"`,
	"time":            ` fill="#555"`,
	"frame":           ` fill="#555"`,
	"anomaly info":    ` fill="#335"`,
	"anomaly warning": ` fill="#a05a00"`,
	"anomaly error":   ` fill="#b00020"`,
}

// anomalyLine is what a drawing says of an anomaly, as the text ladder
// does after its "!".
func anomalyLine(a *Anomaly) string {
	return fmt.Sprintf("! %s (%s, %s): %s", a.ID, a.Severity, a.Side, a.Text)
}

// esc escapes s for SVG (XML) text and attributes.
func esc(s string) string { return html.EscapeString(s) }

// HTML makes the Ladder draw its file as part of an HTML page (HTMLHead
// before, HTMLTail after): the file's name as a heading, written at once,
// then each connection as a section (its title and outcome, its SVG and
// its text drawing), the footer in a pre element.
func (l *Ladder) HTML() {
	l.html = true
	fmt.Fprintf(l.w, "<h1>%s</h1>\n", esc(l.file))
}

// pageStyle is the style of tcplens's HTML pages.
const pageStyle = `
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.n { text-align: right; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
.error { color: #b00020; font-weight: bold; }
.warning { color: #a05a00; font-weight: bold; }
.info { color: #335; }
div.svg { overflow-x: auto; }
`

// HTMLHead starts a self-contained HTML page titled title.
func HTMLHead(title string) string {
	return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + esc(title) + "</title>\n<style>" + pageStyle + "</style>\n</head>\n<body>\n"
}

// HTMLTail ends a page HTMLHead started.
const HTMLTail = "</body>\n</html>\n"

// Keep makes the Ladder keep its drawings for Drawings instead of writing
// them: for the few connections of a report.
func (l *Ladder) Keep() { l.keep = true }

// Drawings returns what a Ladder that keeps its drawings drew, in
// connection order.
func (l *Ladder) Drawings() []LadderDrawing {
	slices.SortFunc(l.kept, func(a, b *ladderConn) int { return cmp.Compare(a.rec.ID, b.rec.ID) })
	out := make([]LadderDrawing, 0, len(l.kept))
	for _, lc := range l.kept {
		out = append(out, LadderDrawing{Conn: lc.rec.ID, Text: lc.text(), SVG: lc.svg()})
	}
	return out
}
