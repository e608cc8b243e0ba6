package report

import (
	"slices"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/tracker"
)

// anomalyRow is an anomaly of connection conn.
func anomalyRow(id string, sev tracker.Severity, conn uint64) AnomalyRow {
	return AnomalyRow{Conn: conn, Anomaly: Anomaly{ID: id, Severity: sev.String(), Count: 1}}
}

// incidentOf adds each connection's rows, in the order given.
func incidentOf(keep int, conns ...[]AnomalyRow) *Incident {
	in := &Incident{Keep: keep}
	for _, rows := range conns {
		in.outcomes.add(tracker.OutcomeIDs[0]) // as Add counts each connection
		in.addConn(rows)
	}
	return in
}

// The ladders go to one connection of each warning or error id before a
// second of any (a connection drawn for one id counts for every id it
// shows), the errors' first; info never gets one.
func TestIncidentLadderConns(t *testing.T) {
	const (
		stuck = tracker.AnomalyCloseWaitStuck
		abort = tracker.AnomalyRSTAbort
		atEnd = tracker.AnomalyOpenAtEnd
	)
	in := incidentOf(0,
		[]AnomalyRow{anomalyRow(atEnd, tracker.Info, 1)},
		[]AnomalyRow{anomalyRow(abort, tracker.Warning, 9)},
		[]AnomalyRow{anomalyRow(abort, tracker.Warning, 4), anomalyRow(stuck, tracker.Error, 4)},
		[]AnomalyRow{anomalyRow(stuck, tracker.Error, 7)},
		[]AnomalyRow{anomalyRow(stuck, tracker.Error, 8)},
	)
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
	var ids []string
	for _, g := range in.Groups() {
		ids = append(ids, g.ID)
	}
	if want := []string{stuck, abort, atEnd}; !slices.Equal(ids, want) {
		t.Errorf("groups %v, want %v (errors, then warnings, then info)", ids, want)
	}

	// A connection that shows a second id covers it even when it is not
	// that id's first: syn-refused needs no ladder of its own here, and
	// rst-abort gets one.
	refused := tracker.AnomalySYNRefused
	in = incidentOf(0,
		[]AnomalyRow{anomalyRow(refused, tracker.Warning, 3)},
		[]AnomalyRow{anomalyRow(stuck, tracker.Error, 4), anomalyRow(refused, tracker.Warning, 4)},
		[]AnomalyRow{anomalyRow(abort, tracker.Warning, 5)},
	)
	if got := in.LadderConns(2); !slices.Equal(got, []uint64{4, 5}) {
		t.Errorf("LadderConns(2) = %v, want [4 5]", got)
	}
}

// An id a connection shows on both sides, or twice, counts once for it:
// in the group, the verdict and what is kept.
func TestIncidentCountsConnections(t *testing.T) {
	lost := tracker.AnomalyLostSegment
	var conns [][]AnomalyRow
	for conn := uint64(1); conn <= 5; conn++ {
		a, b := anomalyRow(lost, tracker.Warning, conn), anomalyRow(lost, tracker.Warning, conn)
		a.Side, b.Side = "client", "server"
		conns = append(conns, []AnomalyRow{a, b})
	}
	conns = append(conns, nil) // a connection without anomalies
	in := incidentOf(2, conns...)
	g := in.Groups()[0]
	if g.Connections != 5 || g.Times != 10 || len(g.Rows) != 4 || countConns(g.Rows) != 2 {
		t.Errorf("%d connections, %d times, %d rows of %d connections kept; want 5, 10, 4 of 2", g.Connections, g.Times, len(g.Rows), countConns(g.Rows))
	}
	if v := in.Verdict(); v != "Anomalies in 5 of 6 connections: 5 warnings (each id counted once per connection)." {
		t.Errorf("verdict %q", v)
	}
}

// However many connections show an anomaly, a report keeps the rows of
// the first Keep, and counts them all.
func TestIncidentKeepsTheFirstRows(t *testing.T) {
	in := &Incident{Keep: 3, Ignore: func(id string) bool { return id == tracker.AnomalyOpenAtEnd }}
	const n = 20000
	for conn := uint64(n); conn >= 1; conn-- { // the last connection first
		a := anomalyRow(tracker.AnomalyRSTAbort, tracker.Warning, conn)
		a.Count = 2
		in.addConn([]AnomalyRow{a, anomalyRow(tracker.AnomalyOpenAtEnd, tracker.Info, conn)})
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

// What a file name may hold cannot end a table cell, start a line of its
// own or become markup.
func TestMarkdownEscapes(t *testing.T) {
	for _, tc := range []struct{ in, cell, code string }{
		{"a|b.pcap", `a\|b.pcap`, "`a|b.pcap`"},
		{"cr\rline\nx.pcap", "cr line x.pcap", "`cr line x.pcap`"},
		{"<b>&amp;_*.pcap", `&lt;b&gt;&amp;amp;\_\*.pcap`, "`<b>&amp;_*.pcap`"},
		{"t`ick.pcap", "t\\`ick.pcap", "``t`ick.pcap``"},
		{"`edge`", "\\`edge\\`", "`` `edge` ``"},
	} {
		if got := mdCell(tc.in); got != tc.cell {
			t.Errorf("mdCell(%q) = %q, want %q", tc.in, got, tc.cell)
		}
		if got := mdCode(tc.in); got != tc.code {
			t.Errorf("mdCode(%q) = %q, want %q", tc.in, got, tc.code)
		}
	}
}
