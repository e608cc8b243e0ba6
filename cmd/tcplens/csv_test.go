package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/internal/testcaptures"
	"github.com/tcplens/tcplens/report"
)

// readCSV runs read --format csv with args and parses what it printed.
func readCSV(t *testing.T, args ...string) [][]string {
	t.Helper()
	out, errOut, err := runCLI(t, nil, append([]string{"read", "--format", "csv"}, args...)...)
	if err != nil {
		t.Fatalf("read --format csv %v: %v\n%s", args, err, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, out)
	}
	return rows
}

// csvOf is what a CSV line should say of an NDJSON record, worked out
// from the record as NDJSON printed it.
func csvOf(r *report.Record, line map[string]json.RawMessage) map[string]string {
	vlan := make([]string, len(r.VLAN))
	for i, v := range r.VLAN {
		vlan[i] = strconv.Itoa(int(v))
	}
	var ids []string
	for _, a := range r.Anomalies {
		ids = append(ids, a.ID)
	}
	raw := func(k string) string { return strings.Trim(string(line[k]), `"`) }
	return map[string]string{
		"file": r.File, "id": raw("id"), "incarnation": raw("incarnation"),
		"client": r.Client, "server": r.Server, "vlan": strings.Join(vlan, "."),
		"role_guessed": raw("role_guessed"), "partial": raw("partial"),
		"start": raw("start"), "end": raw("end"), "duration_s": raw("duration_s"),
		"first_frame": raw("first_frame"), "last_frame": raw("last_frame"),
		"c2s_packets": strconv.FormatInt(r.ClientToServer.Packets, 10), "c2s_bytes": strconv.FormatInt(r.ClientToServer.Bytes, 10),
		"s2c_packets": strconv.FormatInt(r.ServerToClient.Packets, 10), "s2c_bytes": strconv.FormatInt(r.ServerToClient.Bytes, 10),
		"client_states": strings.Join(r.ClientStates, " "), "server_states": strings.Join(r.ServerStates, " "),
		"outcome": r.Outcome, "outcome_text": r.OutcomeText,
		"ignored_rsts": strconv.Itoa(r.IgnoredRSTs), "capture_loss": strconv.FormatBool(r.CaptureLoss),
		"anomalies": strings.Join(ids, " "),
	}
}

// Every capture's CSV says what its NDJSON says, connection by connection
// and in the same order: the two are written by different code (NDJSON by
// the fast formatter on the workers, CSV from the record).
func TestCSVMatchesNDJSON(t *testing.T) {
	for _, file := range testcaptures.All(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			nd, _, _ := runCLI(t, nil, "read", "--format", "ndjson", file)
			out, _, _ := runCLI(t, nil, "read", "--format", "csv", file)
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatalf("not CSV: %v\n%s", err, out)
			}
			if len(rows) == 0 || !cmp.Equal(rows[0], report.CSVHeader) {
				t.Fatalf("first line %q, want the header", rows)
			}
			lines := strings.Split(strings.TrimSuffix(nd, "\n"), "\n")
			if nd == "" {
				lines = nil
			}
			if len(rows)-1 != len(lines) {
				t.Fatalf("%d CSV lines under the header, %d NDJSON records", len(rows)-1, len(lines))
			}
			for i, l := range lines {
				var r report.Record
				var fields map[string]json.RawMessage
				if err := json.Unmarshal([]byte(l), &r); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal([]byte(l), &fields); err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for j, name := range rows[0] {
					got[name] = rows[i+1][j]
				}
				if diff := cmp.Diff(csvOf(&r, fields), got); diff != "" {
					t.Fatalf("line %d (connection %d) differs from its NDJSON record (-ndjson +csv):\n%s", i+2, r.ID, diff)
				}
			}
		})
	}
}

func TestCSVDemo(t *testing.T) {
	rows := readCSV(t, demo, demo)
	// One header for both files, then the five connections of each.
	if len(rows) != 11 {
		t.Fatalf("%d lines, want a header and 2x5 connections:\n%q", len(rows), rows)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	// The README's table of the demo capture, column by column.
	want := []struct{ outcome, c2s, s2c, anomalies, clientStates string }{
		{"closed-by-client", "6 6", "4 3", "", "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 TIME_WAIT"},
		{"closed-by-server", "5 4", "5 4", "", "CLOSED SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED"},
		{"refused", "1 0", "1 0", "syn-refused", "CLOSED SYN_SENT CLOSED"},
		{"reset", "5 6", "3 3", "rst-abort", "CLOSED SYN_SENT ESTABLISHED CLOSED"},
		{"open", "4 5", "3 5", "open-at-end", "CLOSED SYN_SENT ESTABLISHED"},
	}
	for i, row := range rows[1:] {
		w := want[i%5]
		got := []string{row[col["outcome"]], row[col["c2s_packets"]] + " " + row[col["c2s_bytes"]],
			row[col["s2c_packets"]] + " " + row[col["s2c_bytes"]], row[col["anomalies"]], row[col["client_states"]]}
		if diff := cmp.Diff([]string{w.outcome, w.c2s, w.s2c, w.anomalies, w.clientStates}, got); diff != "" {
			t.Errorf("connection %s: (-want +got)\n%s", row[col["id"]], diff)
		}
		if row[col["id"]] != strconv.Itoa(i%5+1) || row[col["file"]] != demo {
			t.Errorf("line %d: id %s of %s", i+2, row[col["id"]], row[col["file"]])
		}
	}
	// A cell with a comma is quoted, and reads back whole.
	if got := rows[1][col["outcome_text"]]; got != "closed by client, server saw final ACK" {
		t.Errorf("outcome_text %q", got)
	}
}

// A capture without connections still gets the header, so that a
// spreadsheet or a script finds its columns.
func TestCSVNoConnections(t *testing.T) {
	name := filepath.Join(t.TempDir(), "empty.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := pcapgo.NewWriter(f).WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rows := readCSV(t, name)
	if len(rows) != 1 || !cmp.Equal(rows[0], report.CSVHeader) {
		t.Fatalf("got %q, want the header alone", rows)
	}
}

// A QinQ connection's vlan cell names both tags, outer first, as the
// table's "vlan 100.10" does.
func TestCSVVLAN(t *testing.T) {
	b := scenario.New(scenario.Options{VLANs: []uint16{100, 10}})
	b.Conn("10.0.0.1:40000", "10.0.0.2:80").Handshake()
	name := filepath.Join(t.TempDir(), "qinq.pcap")
	if err := b.WriteFile(name); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, name)
	if len(rows) != 2 || rows[1][5] != "100.10" || rows[0][5] != "vlan" {
		t.Errorf("got %q, want the vlan cell 100.10", rows)
	}
}

// The README's CSV header is the one read prints.
func TestCSVHeaderInREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, demo)
	header := strings.Join(rows[0], ",")
	if !strings.Contains(string(readme), "\n"+header+"\n") {
		t.Errorf("the README does not show the header read prints:\n%s", header)
	}
}
