package report

import (
	"encoding/xml"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/testcaptures"
)

// svgShows is what an SVG drawing shows, read back from its elements, or
// what the text drawing of the same connection shows, read from its lines.
type svgShows struct {
	Frames, Labels, Timers, Anomalies []string
	ToServer                          []bool      // each arrow's direction
	States                            [][2]string // the initial states, then after each packet or timer
	Changed                           [][2]bool   // which of States differ from the row before (bold in SVG)
}

var (
	toServerLine = regexp.MustCompile(`^\s*(\d+)\s+\S+\s+(.+?)\s+── (.+?) ─*▶\s+(.+)$`)
	toClientLine = regexp.MustCompile(`^\s*(\d+)\s+\S+\s+(.+?)\s+◀─* (.+?) ──\s+(.+)$`)
	timerLine    = regexp.MustCompile(`^\s*-\s+\S+\s+(\S+)\s+(\S+)\s+(timer: .*)$`)
)

// textShows reads a text drawing.
func textShows(t *testing.T, text string) svgShows {
	var s svgShows
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		right := func(rest string) string { return strings.SplitN(rest, "  ", 2)[0] }
		if m := toServerLine.FindStringSubmatch(l); m != nil {
			s.Frames, s.Labels, s.ToServer = append(s.Frames, m[1]), append(s.Labels, m[3]), append(s.ToServer, true)
			s.States = append(s.States, [2]string{m[2], right(m[4])})
		} else if m := toClientLine.FindStringSubmatch(l); m != nil {
			s.Frames, s.Labels, s.ToServer = append(s.Frames, m[1]), append(s.Labels, m[3]), append(s.ToServer, false)
			s.States = append(s.States, [2]string{m[2], right(m[4])})
		} else if m := timerLine.FindStringSubmatch(l); m != nil {
			s.Timers, s.States = append(s.Timers, m[3]), append(s.States, [2]string{m[1], m[2]})
		} else if a := strings.TrimSpace(l); strings.HasPrefix(a, "! ") {
			s.Anomalies = append(s.Anomalies, a)
		} else if i == 4 { // under FRAME TIME CLIENT SERVER: the initial states
			f := strings.Fields(l)
			s.States = append(s.States, [2]string{f[0], f[1]})
		} else if i > 4 {
			t.Fatalf("line %d of the text drawing not understood: %q", i+1, l)
		}
	}
	for i := range s.States {
		var c [2]bool
		for side := range c {
			c[side] = i > 0 && s.States[i][side] != s.States[i-1][side]
		}
		s.Changed = append(s.Changed, c)
	}
	return s
}

// svgShowsOf reads an SVG drawing back; it fails the test if it is not
// well-formed XML.
func svgShowsOf(t *testing.T, svg string) svgShows {
	var s svgShows
	d := xml.NewDecoder(strings.NewReader(svg))
	var class string
	var pending [2]string // states of the current row, client first
	var changed [2]bool
	nStates := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
			}
			class = attr["class"]
			if tok.Name.Local == "line" && class == "arrow" {
				x1, _ := strconv.ParseFloat(attr["x1"], 64)
				x2, _ := strconv.ParseFloat(attr["x2"], 64)
				s.ToServer = append(s.ToServer, x1 < x2)
			}
		case xml.CharData:
			text := string(tok)
			switch {
			case class == "frame":
				s.Frames = append(s.Frames, text)
			case class == "label":
				s.Labels = append(s.Labels, text)
			case class == "timer" && text != "-":
				s.Timers = append(s.Timers, text)
			case strings.HasPrefix(class, "anomaly"):
				s.Anomalies = append(s.Anomalies, text)
			case strings.HasPrefix(class, "state"):
				pending[nStates%2], changed[nStates%2] = text, strings.Contains(class, "changed")
				if nStates++; nStates%2 == 0 {
					s.States, s.Changed = append(s.States, pending), append(s.Changed, changed)
				}
			}
		case xml.EndElement:
			class = ""
		}
	}
	return s
}

// Every connection of every capture is drawn in SVG as in text: the same
// packets with the same labels, directions and frames, the same states
// after each, the same timers and anomalies, in the same order.
func TestLadderSVGShowsWhatTextShows(t *testing.T) {
	drawn := 0
	for _, file := range testcaptures.All(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			l, tr, _, err := trackLadder(file, nil, true)
			if err != nil {
				t.Skip(err) // files the reader refuses are other tests' business
			}
			tr.Flush()
			if err := l.Close(Summary{File: file}); err != nil {
				t.Fatal(err)
			}
			for _, d := range l.Drawings() {
				want, got := textShows(t, d.Text), svgShowsOf(t, d.SVG)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("connection %d: the SVG shows otherwise than the text (-text +svg):\n%s\n%s", d.Conn, diff, d.Text)
				}
				drawn++
			}
		})
	}
	if drawn < 50 {
		t.Errorf("only %d connections drawn", drawn)
	}
}

// A text the SVG draws is escaped: a client address cannot hold markup,
// but an anomaly's text quotes what it was given.
func TestLadderSVGEscapes(t *testing.T) {
	lc := &ladderConn{rec: Record{ID: 1, Client: "10.0.0.1:1", Server: "10.0.0.2:2", Anomalies: []Anomaly{{ID: "x", Severity: "error", Side: "client", Text: `<script>alert("&")</script>`}}}}
	svg := lc.svg()
	if strings.Contains(svg, "<script") {
		t.Fatalf("markup came through:\n%s", svg)
	}
	if got := svgShowsOf(t, svg).Anomalies; len(got) != 1 || got[0] != `! x (error, client): <script>alert("&")</script>` {
		t.Errorf("anomaly read back as %q", got)
	}
}
