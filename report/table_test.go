package report_test

import (
	"bytes"
	"slices"
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

// A live capture's table names its columns as read's table does: a user
// who reads both, or a script that looks for a column, sees one header.
func TestTableStreamHeaderIsReadsHeader(t *testing.T) {
	var stream, file bytes.Buffer
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := report.NewTableStream(&stream, start)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(report.Summary{File: "live:eth0"}); err != nil {
		t.Fatal(err)
	}
	r := report.Record{ID: 1, Client: "10.0.0.1:40001", Server: "10.0.0.2:80", Start: start,
		ClientStates: []string{"CLOSED", "SYN_SENT"}, ServerStates: []string{"LISTEN"}, Outcome: "syn-unanswered"}
	if err := report.WriteTableRows(&file, []report.TableRow{report.NewTableRow(&r)}, report.Summary{File: "x.pcap"}); err != nil {
		t.Fatal(err)
	}
	names := func(table string) []string {
		for _, line := range strings.Split(table, "\n") {
			if strings.Contains(line, "CLIENT") || strings.Contains(line, "Client") {
				var cols []string
				for _, c := range strings.Split(line, "│") {
					if c = strings.TrimSpace(c); c != "" {
						cols = append(cols, c)
					}
				}
				return cols
			}
		}
		return nil
	}
	want := []string{"#", "CLIENT", "SERVER", "START", "DURATION", "C → S PKTS / BYTES", "S → C PKTS / BYTES", "CLIENT STATES", "SERVER STATES", "OUTCOME", "ANOMALIES"}
	if got := names(file.String()); !slices.Equal(got, want) {
		t.Fatalf("read's header: %q, want %q\n%s", got, want, file.String())
	}
	if got := names(stream.String()); !slices.Equal(got, want) {
		t.Errorf("sniff's header: %q, want read's %q\n%s", got, want, stream.String())
	}
}
