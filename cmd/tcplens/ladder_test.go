package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/internal/testcaptures"
	"github.com/tcplens/tcplens/report"
)

// ladderRow is one row of a ladder as a user reads it.
type ladderRow struct {
	frame          string // "-" for a timer
	time           string
	client, server string // the states after the row
	toServer       bool   // the arrow points right
	label          string // what the arrow says
	note           string
	anomalies      []string // the "!" lines under it
}

// ladderConn is one drawn connection.
type ladderConn struct {
	title   string
	initial [2]string
	outcome string
	rows    []ladderRow
	notes   []string // the "!" lines
	// serverAt is the column (in characters) where SERVER starts: every
	// row's server state must start there too.
	serverAt int
}

// fieldStarts returns the columns (in characters) where the line's fields
// start, fields being separated by two spaces or more.
func fieldStarts(line string) []int {
	var starts []int
	spaces := 2
	for i, r := range []rune(line) {
		if r == ' ' {
			spaces++
			continue
		}
		if spaces >= 2 {
			starts = append(starts, i)
		}
		spaces = 0
	}
	return starts
}

var (
	fieldGap   = regexp.MustCompile(`\s{2,}`)
	footerLine = regexp.MustCompile(`^\S.*: \d+ packets?, \d+ TCP, \d+ connections?$`)
	arrowLabel = regexp.MustCompile(`^(?:── (.*) ─*▶|◀─* (.*) ──)$`)
)

// parseLadder reads ladder's output back into connections.
func parseLadder(t *testing.T, out string) []ladderConn {
	t.Helper()
	var conns []ladderConn
	var c *ladderConn
	header := false
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "connection "):
			conns = append(conns, ladderConn{title: line})
			c = &conns[len(conns)-1]
		case c != nil && strings.HasPrefix(line, "outcome: "):
			c.outcome = strings.TrimPrefix(line, "outcome: ")
		case c == nil || trimmed == "":
		case footerLine.MatchString(line):
			c = nil // the footer
		case strings.HasPrefix(trimmed, "FRAME"):
			header = true
			c.serverAt = fieldStarts(line)[3]
		case strings.HasPrefix(trimmed, "! "):
			c.notes = append(c.notes, strings.TrimPrefix(trimmed, "! "))
			if n := len(c.rows); n > 0 {
				c.rows[n-1].anomalies = append(c.rows[n-1].anomalies, strings.TrimPrefix(trimmed, "! "))
			}
		case header:
			f := fieldGap.Split(trimmed, -1)
			if len(f) != 2 {
				t.Fatalf("initial states line %q", line)
			}
			c.initial = [2]string{f[0], f[1]}
			header = false
			if at := fieldStarts(line)[1]; at != c.serverAt {
				t.Errorf("%s: the initial server state starts at column %d, SERVER at %d", c.title, at, c.serverAt)
			}
		default:
			f := fieldGap.Split(trimmed, -1)
			row := ladderRow{frame: f[0], time: f[1], client: f[2]}
			if f[0] == "-" {
				if len(f) != 5 {
					t.Fatalf("timer row %q", line)
				}
				row.server, row.note = f[3], f[4]
				if at := fieldStarts(line)[3]; at != c.serverAt {
					t.Errorf("%s: timer row %q: server state at column %d, SERVER at %d", c.title, line, at, c.serverAt)
				}
			} else {
				if at := fieldStarts(line)[4]; at != c.serverAt {
					t.Errorf("%s: row %q: server state at column %d, SERVER at %d", c.title, line, at, c.serverAt)
				}
				if len(f) < 5 {
					t.Fatalf("row %q", line)
				}
				m := arrowLabel.FindStringSubmatch(f[3])
				if m == nil {
					t.Fatalf("row %q: no arrow in %q", line, f[3])
				}
				row.toServer, row.label, row.server = m[1] != "", m[1]+m[2], f[4]
				if len(f) > 5 {
					row.note = f[5]
				}
			}
			c.rows = append(c.rows, row)
		}
	}
	return conns
}

func TestLadderDemoGolden(t *testing.T) {
	out, _, err := runCLI(t, nil, "ladder", demo)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "demo.ladder.golden", out)
}

// A connection whose final ACK was lost: the client's TIME_WAIT expires
// (a timer row, 60 s after the FIN that put it there) while the server
// is still in LAST_ACK and retransmits its FIN, which is marked; the FIN
// that comes after the expiry finds the client CLOSED, although the
// tracker applies the expiry only when it next looks at the connection.
// Each anomaly is under the packet that showed it first.
func TestLadderRows(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:40000", "10.0.0.2:80", scenario.ISN(1000, 5000))
	c.Handshake()                           // 1-3
	c.Send(scenario.Client, "PA", 10)       // 4
	c.Send(scenario.Server, "A", 0)         // 5
	c.Send(scenario.Client, "FA", 0)        // 6
	fin := c.Send(scenario.Server, "FA", 0) // 7: the client goes to TIME_WAIT
	c.Drop(scenario.Client, "A", 0)         // the final ACK is not captured
	b.Advance(time.Second)
	c.SetNext(scenario.Server, fin.Seq)
	c.Send(scenario.Server, "FA", 0) // 8: the FIN again, at 1 s
	b.Advance(62 * time.Second)
	c.SetNext(scenario.Server, fin.Seq)
	c.Send(scenario.Server, "FA", 0) // 9: and at 63 s
	b.Advance(400 * time.Second)
	other := b.Conn("10.0.0.3:40001", "10.0.0.2:80")
	other.Handshake() // 10-12: past the idle timeout
	file := captureFile(t, b)
	out, _, err := runCLI(t, nil, "ladder", "--conn", "1", file)
	if err != nil {
		t.Fatal(err)
	}
	conns := parseLadder(t, out)
	if len(conns) != 1 || !strings.Contains(conns[0].title, "client 10.0.0.1:40000, server 10.0.0.2:80") {
		t.Fatalf("want connection 1 only:\n%s", out)
	}
	type r struct {
		frame, client, server string
		toServer              bool
		label, note           string
		anomalies             string // ids of the "!" lines under the row
	}
	var got []r
	for _, row := range conns[0].rows {
		var ids []string
		for _, a := range row.anomalies {
			ids = append(ids, a[:strings.Index(a, " ")])
		}
		got = append(got, r{row.frame, row.client, row.server, row.toServer, row.label, row.note, strings.Join(ids, " ")})
	}
	// The scenario's SYNs carry MSS 1460 and window scale 7: windows after
	// them are scaled, as Wireshark's calculated window.
	want := []r{
		{"1", "SYN_SENT", "LISTEN", true, "[SYN] seq=0 win=65535 len=0 mss=1460", "", ""},
		{"2", "SYN_SENT", "SYN_RCVD", false, "[SYN, ACK] seq=0 ack=1 win=65535 len=0 mss=1460", "", ""},
		{"3", "ESTABLISHED", "ESTABLISHED", true, "[ACK] seq=1 ack=1 win=8388480 len=0", "", ""},
		{"4", "ESTABLISHED", "ESTABLISHED", true, "[PSH, ACK] seq=1 ack=1 win=8388480 len=10", "", ""},
		{"5", "ESTABLISHED", "ESTABLISHED", false, "[ACK] seq=1 ack=11 win=8388480 len=0", "", ""},
		{"6", "FIN_WAIT_1", "ESTABLISHED", true, "[FIN, ACK] seq=11 ack=1 win=8388480 len=0", "", ""},
		{"7", "TIME_WAIT", "CLOSE_WAIT > LAST_ACK", false, "[FIN, ACK] seq=1 ack=12 win=8388480 len=0", "", "missing-final-ack"},
		{"8", "TIME_WAIT", "LAST_ACK", false, "[FIN, ACK] seq=1 ack=12 win=8388480 len=0", "retransmission", "retransmission fin-retransmitted"},
		{"-", "CLOSED", "LAST_ACK", false, "", "timer: time-wait-expired", ""},
		{"9", "CLOSED", "LAST_ACK", false, "[FIN, ACK] seq=1 ack=12 win=8388480 len=0", "retransmission", ""},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(r{})); diff != "" {
		t.Errorf("rows (-want +got):\n%s\n%s", diff, out)
	}
	if c := conns[0]; c.initial != [2]string{"CLOSED", "LISTEN"} {
		t.Errorf("initial states %q", c.initial)
	}
	rows := conns[0].rows
	at7, _ := strconv.ParseFloat(rows[6].time, 64)
	at, _ := strconv.ParseFloat(rows[8].time, 64)
	if d := at - at7; d < 59.999 || d > 60.001 {
		t.Errorf("TIME_WAIT expired %.6f s after frame 7, want 60 s (2*MSL)", d)
	}
}

// A connection whose opening was not captured, on a VLAN: the roles are
// guessed, and sequence numbers are relative as Wireshark makes them
// without a SYN: one below a side's first sequence number, or below the
// peer's first acknowledgment of it where that came first.
func TestLadderMidStream(t *testing.T) {
	b := scenario.New(scenario.Options{VLANs: []uint16{100}})
	c := b.Conn("10.0.0.1:40000", "10.0.0.2:80", scenario.ISN(1000, 5000))
	c.SetNext(scenario.Client, 2001)
	c.SetNext(scenario.Server, 7001)
	c.Send(scenario.Server, "A", 0)   // 1: acknowledges 2001, the client's next
	c.Send(scenario.Client, "PA", 10) // 2
	c.Send(scenario.Server, "PA", 5)  // 3
	file := captureFile(t, b)
	out, _, err := runCLI(t, nil, "ladder", file)
	if err != nil {
		t.Fatal(err)
	}
	conns := parseLadder(t, out)
	if len(conns) != 1 {
		t.Fatalf("%d connections:\n%s", len(conns), out)
	}
	if want := "connection 1: client 10.0.0.1:40000 (guessed), server 10.0.0.2:80 vlan 100"; conns[0].title != want {
		t.Errorf("title %q, want %q", conns[0].title, want)
	}
	var labels []string
	for _, row := range conns[0].rows {
		labels = append(labels, row.label)
	}
	want := []string{
		"[ACK] seq=1 ack=1 win=65535 len=0",
		"[PSH, ACK] seq=1 ack=1 win=65535 len=10",
		"[PSH, ACK] seq=1 ack=11 win=65535 len=5",
	}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s\n%s", diff, out)
	}
}

// --conn picks connections by read's # column; one that is not there is
// an error naming it, after what is there was drawn.
func TestLadderConnSelection(t *testing.T) {
	out, _, err := runCLI(t, nil, "ladder", "--conn", "3,5", demo)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, c := range parseLadder(t, out) {
		titles = append(titles, c.title)
	}
	want := []string{
		"connection 3: client 10.213.0.1:40003, server 10.213.0.2:8003",
		"connection 5: client 10.213.0.1:40005, server 10.213.0.2:8005",
	}
	if diff := cmp.Diff(want, titles); diff != "" {
		t.Errorf("connections drawn (-want +got):\n%s", diff)
	}
	out, errOut, err := runCLI(t, nil, "ladder", "--conn", "2", "--conn", "9", demo)
	if !errors.Is(err, errReported) {
		t.Errorf("a missing connection: error %v, want the exit status of a failed file", err)
	}
	if n := len(parseLadder(t, out)); n != 1 || !strings.Contains(errOut, "no connection 9") {
		t.Errorf("%d connections drawn, stderr %q; want connection 2 and an error naming 9", n, errOut)
	}
	if _, _, err := runCLI(t, nil, "ladder", "--conn", "0", demo); err == nil {
		t.Error("--conn 0 accepted")
	}
}

// On every capture, each connection's ladder goes through the states read
// reports for it, in order, and has a row for every packet read counts.
func TestLadderAgreesWithRead(t *testing.T) {
	for _, file := range testcaptures.All(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			js, _, err := runCLI(t, nil, "read", "-q", "-o", "json", file)
			if err != nil {
				t.Skip(err) // a capture read rejects is tested elsewhere
			}
			var recs []report.Record
			if err := json.Unmarshal([]byte(js), &recs); err != nil {
				t.Fatal(err)
			}
			out, _, err := runCLI(t, nil, "ladder", "-q", file)
			if err != nil {
				t.Fatal(err)
			}
			conns := parseLadder(t, out)
			if len(conns) != len(recs) {
				t.Fatalf("%d ladders, %d records", len(conns), len(recs))
			}
			for i, rec := range recs {
				c := conns[i]
				if !strings.HasPrefix(c.title, "connection "+strconv.FormatUint(rec.ID, 10)+":") {
					t.Fatalf("ladder %d is %q, record %d", i, c.title, rec.ID)
				}
				packets := 0
				states := [2][]string{{c.initial[0]}, {c.initial[1]}}
				for _, row := range c.rows {
					if row.frame != "-" {
						packets++
					}
					// A cell names every state a packet moved the side
					// through: "CLOSE_WAIT > LAST_ACK".
					for side, cell := range [2]string{row.client, row.server} {
						for s := range strings.SplitSeq(cell, " > ") {
							if states[side][len(states[side])-1] != s {
								states[side] = append(states[side], s)
							}
						}
					}
				}
				if want := rec.ClientToServer.Packets + rec.ServerToClient.Packets; int64(packets) != want {
					t.Errorf("connection %d: %d packet rows, read counts %d", rec.ID, packets, want)
				}
				// The outcome as the table words it, with what makes it
				// less certain.
				outcome := rec.OutcomeText
				if rec.Partial {
					outcome += " [opening not captured]"
				}
				if rec.CaptureLoss {
					outcome += " [capture missed packets: states may be incomplete]"
				}
				if c.outcome != outcome {
					t.Errorf("connection %d: outcome %q, want %q", rec.ID, c.outcome, outcome)
				}
				if !slices.Equal(states[0], rec.ClientStates) || !slices.Equal(states[1], rec.ServerStates) {
					t.Errorf("connection %d: ladder states %q / %q, read %q / %q", rec.ID, states[0], states[1], rec.ClientStates, rec.ServerStates)
				}
			}
		})
	}
}

// The arrows are Wireshark's: on every capture, each packet's flags (AE
// included), relative sequence and acknowledgment numbers, payload length
// and window are the ones tshark shows, with two exceptions that are not
// about numbering. A connection tcplens began anew without a SYN (the 4-tuple
// came back after the idle timeout) is still one stream to Wireshark,
// whose numbers go on from the old one. And where a SYN is missing,
// Wireshark may still scale the window (guessing the factor); tcplens
// scales it only when both SYNs were seen.
func TestLadderMatchesTshark(t *testing.T) {
	tshark := needTshark(t)
	var compared atomic.Int64
	t.Run("captures", func(t *testing.T) {
		for _, file := range testcaptures.All(t) {
			t.Run(filepath.Base(file), func(t *testing.T) {
				t.Parallel()
				compareLadderWithTshark(t, tshark, file, &compared)
			})
		}
	})
	if n := compared.Load(); n < 1000 {
		t.Errorf("only %d packets compared", n)
	} else {
		t.Logf("%d packets compared", n)
	}
}

// compareLadderWithTshark checks the ladder of file against tshark's
// numbers, counting the packets compared.
func compareLadderWithTshark(t *testing.T, tshark, file string, compared *atomic.Int64) {
	out, _, err := runCLI(t, nil, "ladder", "-q", file)
	if err != nil {
		t.Skip(err) // a capture ladder rejects is tested elsewhere
	}
	cmd := exec.Command(tshark, "-r", file, "-Y", "tcp", "-T", "fields", "-e", "frame.number",
		"-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len", "-e", "tcp.window_size", "-e", "tcp.flags")
	fields, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	want := map[string][]string{}
	for line := range strings.Lines(string(fields)) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		for i := range f {
			f[i], _, _ = strings.Cut(f[i], ",") // the outermost TCP header
		}
		want[f[0]] = f[1:]
	}
	number := regexp.MustCompile(`(seq|ack|len|win)=(\d+)`)
	seen := map[string]bool{} // 4-tuples of the connections so far
	for _, c := range parseLadder(t, out) {
		tuple := strings.ReplaceAll(c.title[strings.Index(c.title, ":")+1:], " (guessed)", "")
		tuple, _, _ = strings.Cut(tuple, ", incarnation")
		again := seen[tuple]
		seen[tuple] = true
		if again && !hasSYN(c) {
			continue // one stream to Wireshark
		}
		bothSYNs := slices.ContainsFunc(c.rows, func(r ladderRow) bool { return r.toServer && strings.HasPrefix(r.label, "[SYN]") }) &&
			slices.ContainsFunc(c.rows, func(r ladderRow) bool { return !r.toServer && strings.HasPrefix(r.label, "[SYN, ACK]") })
		for _, row := range c.rows {
			if row.frame == "-" {
				continue
			}
			w, ok := want[row.frame]
			if !ok {
				t.Errorf("frame %s: tshark shows no TCP", row.frame)
				continue
			}
			compared.Add(1)
			if flags := tsharkFlagNames(t, w[4]); !strings.HasPrefix(row.label, flags+" ") {
				t.Errorf("%s frame %s: %q, tshark's flags %s", c.title, row.frame, row.label, flags)
			}
			for _, m := range number.FindAllStringSubmatch(row.label, -1) {
				var ws string
				switch m[1] {
				case "seq":
					ws = w[0]
				case "ack":
					ws = w[1]
				case "len":
					ws = w[2]
				case "win":
					if !bothSYNs {
						continue
					}
					ws = w[3]
				}
				if m[2] != ws {
					t.Errorf("%s frame %s: %s=%s, tshark %s", c.title, row.frame, m[1], m[2], ws)
				}
			}
		}
	}
}

// tsharkFlagNames spells tshark's tcp.flags (hex, 12 bits) as the
// ladder does: "[SYN, ECE, CWR, AE]".
func tsharkFlagNames(t *testing.T, hex string) string {
	v, err := strconv.ParseUint(strings.TrimPrefix(hex, "0x"), 16, 16)
	if err != nil {
		t.Fatalf("tcp.flags %q: %v", hex, err)
	}
	var names []string
	for bit, name := range []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"} {
		if v&(1<<bit) != 0 {
			names = append(names, name)
		}
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// hasSYN reports whether a connection's ladder has a SYN.
func hasSYN(c ladderConn) bool {
	return slices.ContainsFunc(c.rows, func(r ladderRow) bool { return strings.Contains(r.label, "SYN") })
}

// A filter keeps times as they are: START and the ladder's TIME count
// from the file's first TCP segment, also when the filter leaves it out,
// as frame numbers stay the file's (and as Wireshark's time column does
// under a display filter).
func TestFilterKeepsTimes(t *testing.T) {
	start := func(args ...string) string {
		out, _, err := runCLI(t, nil, append([]string{"read"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(out) {
			if f := strings.Split(line, "│"); len(f) > 4 && strings.Contains(f[3], ":8003") {
				return strings.TrimSpace(f[4])
			}
		}
		t.Fatalf("no row for port 8003:\n%s", out)
		return ""
	}
	if all, filtered := start(demo), start("-f", "port 8003", demo); all != filtered || all == "0.000000" {
		t.Errorf("START of the port 8003 connection: %s unfiltered, %s filtered", all, filtered)
	}
	out, _, err := runCLI(t, nil, "ladder", "-f", "port 8003", demo)
	if err != nil {
		t.Fatal(err)
	}
	conns := parseLadder(t, out)
	if len(conns) != 1 || conns[0].rows[0].frame != "21" || conns[0].rows[0].time != "0.502583" {
		t.Errorf("filtered ladder: want frame 21 at 0.502583 s:\n%s", out)
	}
}

// A timer due at the very time of a packet was applied before the packet
// (the tracker's sweep runs first), and the ladder draws it so: the FIN
// retransmitted exactly 2*MSL after the client entered TIME_WAIT finds it
// CLOSED.
func TestLadderTimerAtAPacketsTime(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
	c.Handshake()                           // 1-3
	c.Send(scenario.Client, "FA", 0)        // 4
	fin := c.Send(scenario.Server, "FA", 0) // 5: the client enters TIME_WAIT
	c.Drop(scenario.Client, "A", 0)
	b.Advance(time.Second)
	c.SetNext(scenario.Server, fin.Seq)
	c.Send(scenario.Server, "FA", 0) // 6: exactly 2*MSL (1 s) later
	file := captureFile(t, b)
	out, _, err := runCLI(t, nil, "ladder", "--msl", "500ms", file)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, row := range parseLadder(t, out)[0].rows[4:] {
		got = append(got, row.frame+" "+row.time+" "+row.client)
	}
	want := []string{"5 0.000000 TIME_WAIT", "- 1.000000 CLOSED", "6 1.000000 CLOSED"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows from frame 5 (-want +got):\n%s\n%s", diff, out)
	}
}

// `tcplens ladder - < file.pcap` reads a regular file, not a stream: the
// ladders come in # order, as for the file named, where a pipe draws each
// as it ends.
func TestStdinRedirectedFromAFile(t *testing.T) {
	b := scenario.New(scenario.Options{})
	long := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
	long.Handshake() // 1-3: open to the end
	short := b.Conn("10.0.0.1:40001", "10.0.0.2:80")
	short.Handshake()
	short.Send(scenario.Client, "RA", 0) // 4-7: reset
	b.Advance(3 * time.Second)
	long.Send(scenario.Client, "PA", 1) // 8: the sweep hands the reset one on
	file := captureFile(t, b)
	order := func(stdin io.Reader) string {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"ladder", "-"}, stdin, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range parseLadder(t, out.String()) {
			ids = append(ids, c.title[len("connection "):strings.Index(c.title, ":")])
		}
		return strings.Join(ids, " ")
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := order(f); got != "1 2" {
		t.Errorf("from a file on standard input: ladders %s, want 1 2", got)
	}
	if got := order(bytes.NewReader(b.Bytes())); got != "2 1" {
		t.Errorf("from a pipe: ladders %s, want 2 1 (each as it ends)", got)
	}
}

// captureFile writes what b scripted to a capture file for the command
// line, failing the test if the script went wrong.
func captureFile(t *testing.T, b *scenario.Builder) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "c.pcap")
	if err := b.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	return file
}
