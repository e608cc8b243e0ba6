package report

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/tracker"
)

// `tcplens anomalies` lists anomalies in catalog order, then by
// connection; rows of one id and one connection keep the order they came
// in (the files' order on the command line, then the connection's own),
// and ids the catalog does not list are left out.
func TestAnomalyRowsOrder(t *testing.T) {
	conn := func(id uint64, ids ...string) *tracker.Conn {
		c := &tracker.Conn{ID: id, Client: netip.MustParseAddrPort("10.0.0.1:40000"), Server: netip.MustParseAddrPort("10.0.0.2:80")}
		for i, a := range ids {
			c.Anomalies = append(c.Anomalies, tracker.Anomaly{ID: a, Frame: int64(i + 1)})
		}
		return c
	}
	var rows []AnomalyRow
	rows = AppendAnomalyRows(rows, "b.pcap", conn(2, tracker.AnomalyFINRetransmitted, tracker.AnomalySYNUnanswered))
	rows = AppendAnomalyRows(rows, "b.pcap", conn(1, "no-such-id", tracker.AnomalyFINRetransmitted))
	rows = AppendAnomalyRows(rows, "b.pcap", conn(3))
	rows = AppendAnomalyRows(rows, "a.pcap", conn(1, tracker.AnomalyFINRetransmitted, tracker.AnomalyFINRetransmitted))
	SortAnomalyRows(rows)
	type place struct {
		ID    string
		File  string
		Conn  uint64
		Frame int64
	}
	var got []place
	for _, r := range rows {
		got = append(got, place{r.ID, r.File, r.Conn, r.Frame})
	}
	// SYN-unanswered comes before FIN-retransmitted in the catalog.
	want := []place{
		{tracker.AnomalySYNUnanswered, "b.pcap", 2, 2},
		{tracker.AnomalyFINRetransmitted, "b.pcap", 1, 2},
		{tracker.AnomalyFINRetransmitted, "a.pcap", 1, 1},
		{tracker.AnomalyFINRetransmitted, "a.pcap", 1, 2},
		{tracker.AnomalyFINRetransmitted, "b.pcap", 2, 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// Many rows of one id and connection, to be moved past rows of another
	// id (an unstable sort shuffles them once there are more than a dozen).
	mixed := make([]string, 60)
	for i := range mixed {
		mixed[i] = tracker.AnomalyFINRetransmitted
		if i%2 == 1 {
			mixed[i] = tracker.AnomalySYNUnanswered
		}
	}
	rows = AppendAnomalyRows(nil, "b.pcap", conn(4, mixed...))
	SortAnomalyRows(rows)
	for i, r := range rows {
		wantID, wantFrame := tracker.AnomalySYNUnanswered, int64(2*i+2)
		if i >= 30 {
			wantID, wantFrame = tracker.AnomalyFINRetransmitted, int64(2*(i-30)+1)
		}
		if r.ID != wantID || r.Frame != wantFrame {
			t.Fatalf("row %d is %s frame %d, want %s frame %d: rows of one id and connection reordered", i, r.ID, r.Frame, wantID, wantFrame)
		}
	}
	rows = AppendAnomalyRows(nil, "b.pcap", conn(2, tracker.AnomalySYNUnanswered))
	if rows[0].Client != "10.0.0.1:40000" || rows[0].Server != "10.0.0.2:80" || rows[0].Schema != AnomalySchemaVersion {
		t.Errorf("row %+v: want the connection's endpoints and the schema", rows[0])
	}
}

// An anomaly both sides of a connection showed counts the connection
// once; the same number in two files is two connections.
func TestWriteAnomaliesCountsConnections(t *testing.T) {
	row := func(file string, conn uint64, side string) AnomalyRow {
		return AnomalyRow{File: file, Conn: conn, Anomaly: Anomaly{ID: tracker.AnomalyLostSegment, Severity: "warning", Side: side, Count: 1}}
	}
	rows := []AnomalyRow{row("a.pcap", 16, "client"), row("a.pcap", 16, "server"), row("a.pcap", 23, "client"), row("b.pcap", 16, "client")}
	var b strings.Builder
	if err := WriteAnomalies(&b, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "lost-segment (warning): 4 in 3 connection(s)") {
		t.Errorf("got:\n%s", b.String())
	}
}
