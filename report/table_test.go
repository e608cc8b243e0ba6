package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/report"
)

// A streamed table shows each row as soon as it is appended, not at the
// end, and ends with the same footer as a whole table.
func TestTableStreamWritesRowsAtOnce(t *testing.T) {
	var buf bytes.Buffer
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := report.NewTableStream(&buf, start)
	if err != nil {
		t.Fatal(err)
	}
	for i, client := range []string{"10.0.0.1:40001", "10.0.0.1:40002"} {
		r := report.Record{ID: uint64(i + 1), Client: client, Server: "10.0.0.2:80", Start: start.Add(1500 * time.Millisecond),
			ClientStates: []string{"CLOSED", "SYN_SENT"}, ServerStates: []string{"LISTEN"},
			Outcome: "syn-unanswered", OutcomeText: "SYN never answered"}
		if err := s.Append(&r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), client) || !strings.Contains(buf.String(), "1.500000") {
			t.Fatalf("row %d not written when appended:\n%s", i+1, buf.String())
		}
	}
	if err := s.Close(report.Summary{File: "live:eth0"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "live:eth0: 0 packets, 0 TCP, 2 connections\n  outcomes: 2 syn-unanswered") {
		t.Errorf("footer:\n%s", buf.String())
	}
}
