package report

import (
	"slices"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/tracker"
)

// The ladders go to one connection of each warning or error id before a
// second of any (a connection drawn for one id counts for all it shows),
// the errors' first; info never gets one.
func TestIncidentLadderConns(t *testing.T) {
	row := func(id string, sev tracker.Severity, conn uint64) AnomalyRow {
		return AnomalyRow{Conn: conn, Anomaly: Anomaly{ID: id, Severity: sev.String(), Count: 1}}
	}
	in := &Incident{}
	for _, r := range []AnomalyRow{
		row(tracker.AnomalyOpenAtEnd, tracker.Info, 1),
		row(tracker.AnomalyRSTAbort, tracker.Warning, 9),
		row(tracker.AnomalyRSTAbort, tracker.Warning, 4),
		row(tracker.AnomalyCloseWaitStuck, tracker.Error, 7),
		row(tracker.AnomalyCloseWaitStuck, tracker.Error, 8),
		row(tracker.AnomalyCloseWaitStuck, tracker.Error, 4),
	} {
		in.addRow(r)
	}
	for n, want := range map[int][]uint64{
		0: nil,
		1: {4},       // the error's first connection
		2: {4, 7},    // 4 shows the warning too: the error's second
		3: {4, 7, 9}, // then the warning's second
		4: {4, 7, 8, 9},
		9: {4, 7, 8, 9}, // not connection 1: its anomaly is info
	} {
		if got := in.LadderConns(n); !slices.Equal(got, want) {
			t.Errorf("LadderConns(%d) = %v, want %v", n, got, want)
		}
	}
	groups := in.Groups()
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.ID)
	}
	if want := []string{tracker.AnomalyCloseWaitStuck, tracker.AnomalyRSTAbort, tracker.AnomalyOpenAtEnd}; !slices.Equal(ids, want) {
		t.Errorf("groups %v, want %v (errors, then warnings, then info)", ids, want)
	}
	if g := groups[0]; g.Connections != 3 || g.Times != 3 || g.Rows[0].Conn != 4 {
		t.Errorf("close-wait-stuck: %d connections, %d times, first %d; want 3, 3, 4", g.Connections, g.Times, g.Rows[0].Conn)
	}
}

func TestMarkdownBlockFence(t *testing.T) {
	for text, want := range map[string]string{
		"a\n":         "```text\na\n```\n",
		"a ``` b\n":   "````text\na ``` b\n````\n",
		"`x` `````\n": "``````text\n`x` `````\n``````\n",
	} {
		if got := mdBlock(text); got != want {
			t.Errorf("mdBlock(%q) = %q, want %q", text, got, want)
		}
	}
}

// However many connections show an anomaly, a report keeps the rows of
// the first Keep, and counts them all.
func TestIncidentKeepsTheFirstRows(t *testing.T) {
	in := &Incident{Keep: 3, Ignore: func(id string) bool { return id == tracker.AnomalyOpenAtEnd }}
	const n = 20000
	for conn := uint64(n); conn >= 1; conn-- { // the last connection first
		in.addRow(AnomalyRow{Conn: conn, Anomaly: Anomaly{ID: tracker.AnomalyRSTAbort, Severity: "warning", Count: 2}})
		in.addRow(AnomalyRow{Conn: conn, Anomaly: Anomaly{ID: tracker.AnomalyOpenAtEnd, Severity: "info", Count: 1}})
		if len(in.rows) > 4*3+4096+1 {
			t.Fatalf("%d rows held after %d connections", len(in.rows), n-conn+1)
		}
	}
	groups := in.Groups()
	if len(groups) != 1 {
		t.Fatalf("%d groups, want rst-abort alone (open-at-end ignored)", len(groups))
	}
	g := groups[0]
	var conns []uint64
	for _, r := range g.Rows {
		conns = append(conns, r.Conn)
	}
	if g.Connections != n || g.Times != 2*n || !slices.Equal(conns, []uint64{1, 2, 3}) {
		t.Errorf("%d connections, %d times, rows of %v; want %d, %d, [1 2 3]", g.Connections, g.Times, conns, n, 2*n)
	}
	if v := in.Verdict(); !strings.Contains(v, "20000 warnings") || strings.Contains(v, "info") {
		t.Errorf("verdict %q", v)
	}
	if s, ok := in.Worst(); !ok || s != tracker.Warning {
		t.Errorf("worst %v %v, want warning", s, ok)
	}
}
