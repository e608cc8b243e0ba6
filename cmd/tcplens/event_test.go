package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/tracker"
)

// sniff --events --format ndjson writes one tcplens.event/v1 object per
// line, valid JSON whatever an anomaly's text holds, with the fields the
// README names: those of the records' transitions and anomalies.
func TestEventRecords(t *testing.T) {
	c := &tracker.Conn{
		Client: netip.MustParseAddrPort("10.0.0.1:40000"), Server: netip.MustParseAddrPort("[2001:db8::2]:80"),
		Start: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
	}
	tr := &tracker.Transition{Frame: 3, Offset: 1500 * time.Microsecond, Side: tracker.Server, From: tracker.SynReceived, To: tracker.Established, Rule: tracker.RuleGotACKOfSYN}
	an := &tracker.Anomaly{ID: "rst-abort", Severity: tracker.Warning, Side: tracker.Client, Frame: 9, Time: c.Start.Add(time.Second), Count: 1, Text: "a \"quoted\" text\x7f with <html> & a \x01 byte"}
	var out bytes.Buffer
	writeEvent(&out, tracker.Event{Conn: c, Transition: tr}, "ndjson")
	writeEvent(&out, tracker.Event{Conn: c, Anomaly: an}, "ndjson")
	var got []map[string]any
	for line := range strings.Lines(out.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		got = append(got, m)
	}
	want := []map[string]any{
		{"schema": "tcplens.event/v1", "client": "10.0.0.1:40000", "server": "[2001:db8::2]:80", "event": "transition",
			"side": "server", "from": "SYN_RCVD", "to": "ESTABLISHED", "frame": 3.0, "time": "2026-11-30T12:00:00.0015Z", "rule": "received-ack-of-syn"},
		{"schema": "tcplens.event/v1", "client": "10.0.0.1:40000", "server": "[2001:db8::2]:80", "event": "anomaly",
			"id": "rst-abort", "severity": "warning", "side": "client", "frame": 9.0, "time": "2026-11-30T12:00:01Z", "count": 1.0, "text": an.Text},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
