package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/report"
)

// The captures in testdata/anomalies were recorded from real Linux kernel
// TCP by testdata/record-anomalies.sh; their README says, capture by
// capture, what the script did and what the kernel counted. These tests
// hold tcplens to that account and to the kernel's own socket states (the
// ss snapshots saved beside each capture). Connections are found by their
// client port, as the README advises.

const evidenceDir = "../../testdata/anomalies"

// wantAnomaly is one anomaly the script's actions must produce. Frame 0
// and Count 0 mean "any".
type wantAnomaly struct {
	id, side, severity string
	frame              int64
	count              int
	text               string // a phrase of the text; "" for any
}

type wantConn struct {
	clientPort   uint16
	incarnation  int
	outcome      string
	clientStates string // the states joined with " > "
	serverStates string
	c2s, s2c     int64 // payload bytes; -1: do not check
	anomalies    []wantAnomaly
}

var evidence = map[string][]wantConn{
	// The server never closes 41001; the ticker 41011 closes normally.
	"close-wait": {{
		clientPort: 41011, incarnation: 1, outcome: "closed-by-client",
		clientStates: "CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > TIME_WAIT",
		serverStates: "LISTEN > SYN_RCVD > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSED",
		c2s:          -1, s2c: -1,
	}, {
		clientPort: 41001, incarnation: 1, outcome: "half-closed",
		clientStates: "CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > FIN_WAIT_2",
		serverStates: "LISTEN > SYN_RCVD > ESTABLISHED > CLOSE_WAIT",
		c2s:          6, s2c: 3, // "hello\n", "hi\n"
		anomalies: []wantAnomaly{
			{id: "close-wait-stuck", side: "server", severity: "error", frame: 18, count: 1, text: "acknowledged the peer's FIN at frame 18"},
			{id: "open-at-end", side: "client", severity: "info", count: 1},
		},
	}},
	// The client's final ACKs are dropped before the capture point; the
	// server retransmits its FIN five times (frames 11-15).
	"final-ack-dropped": {{
		clientPort: 41002, incarnation: 1, outcome: "closed-no-final-ack",
		clientStates: "CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > FIN_WAIT_2",
		serverStates: "LISTEN > SYN_RCVD > ESTABLISHED > CLOSE_WAIT > LAST_ACK",
		c2s:          6, s2c: 3,
		anomalies: []wantAnomaly{
			{id: "missing-final-ack", side: "server", severity: "warning", frame: 10, count: 1, text: "sent 6 times"},
			{id: "fin-retransmitted", side: "server", severity: "warning", frame: 11, count: 5},
			{id: "retransmission", side: "server", severity: "warning", frame: 11, count: 5},
		},
	}},
	// 1 MiB upload through a router dropping ~5 % of data segments before
	// the capture point. Counts are tshark 4.0's on this file (README).
	"loss": {{
		// The server's FIN,ACK (frame 959) acknowledges the client's FIN.
		clientPort: 41003, incarnation: 1, outcome: "closed-by-client",
		clientStates: "CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > TIME_WAIT",
		serverStates: "LISTEN > SYN_RCVD > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSED",
		c2s:          -1, s2c: 12, // "got 1048576\n"
		anomalies: []wantAnomaly{
			{id: "lost-segment", side: "client", severity: "warning", frame: 46, count: 33},
			{id: "duplicate-ack", side: "server", severity: "info", frame: 47, count: 43},
			{id: "retransmission", side: "client", severity: "warning", frame: 72, count: 26},
			{id: "fast-retransmission", side: "client", severity: "warning", frame: 72, count: 8},
			{id: "out-of-order", side: "client", severity: "warning", count: 9},
			{id: "zero-window", side: "server", severity: "warning", frame: 773, count: 3},
			{id: "window-full", side: "client", severity: "info", count: 13},
		},
	}},
	// The server resets twice: SO_LINGER 0, then a close with unread data.
	"abort": {{
		clientPort: 41004, incarnation: 1, outcome: "reset",
		clientStates: "CLOSED > SYN_SENT > ESTABLISHED > CLOSED",
		serverStates: "LISTEN > SYN_RCVD > ESTABLISHED > CLOSED",
		c2s:          6, s2c: 4,
		anomalies: []wantAnomaly{{id: "rst-abort", side: "server", severity: "warning", frame: 8, count: 1}},
	}, {
		clientPort: 41014, incarnation: 1, outcome: "reset",
		clientStates: "CLOSED > SYN_SENT > ESTABLISHED > CLOSED",
		serverStates: "LISTEN > SYN_RCVD > ESTABLISHED > CLOSED",
		c2s:          7 + 38, s2c: 3,
		anomalies: []wantAnomaly{{id: "rst-abort", side: "server", severity: "warning", frame: 18, count: 1}},
	}},
	"refused": {{
		clientPort: 41005, incarnation: 1, outcome: "refused",
		clientStates: "CLOSED > SYN_SENT > CLOSED", serverStates: "LISTEN > CLOSED",
		c2s: 0, s2c: 0,
		anomalies: []wantAnomaly{{id: "syn-refused", side: "server", severity: "warning", frame: 2, count: 1}},
	}},
	// SYNs dropped by a rule: 1 + 3 retransmissions, 1 s, 2 s, 4 s apart.
	"syn-unanswered": {{
		clientPort: 41006, incarnation: 1, outcome: "syn-unanswered",
		clientStates: "CLOSED > SYN_SENT", serverStates: "LISTEN",
		c2s: 0, s2c: 0,
		anomalies: []wantAnomaly{
			{id: "syn-unanswered", side: "client", severity: "error", frame: 1, count: 1, text: "sent 4 time(s)"},
			{id: "syn-retransmitted", side: "client", severity: "warning", frame: 2, count: 3},
			{id: "retransmission", side: "client", severity: "warning", frame: 2, count: 3},
		},
	}},
	// The same 4-tuple again 1 s later, while the server holds TIME_WAIT.
	"reuse-time-wait": {{
		// The client's FIN,ACK (frame 9) acknowledges the server's FIN: the
		// server goes from FIN_WAIT_1 straight to TIME_WAIT.
		clientPort: 41007, incarnation: 1, outcome: "closed-by-server",
		clientStates: "CLOSED > SYN_SENT > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSED",
		serverStates: "LISTEN > SYN_RCVD > ESTABLISHED > FIN_WAIT_1 > TIME_WAIT",
		c2s:          6, s2c: 10,
	}, {
		clientPort: 41007, incarnation: 2, outcome: "closed-by-server",
		clientStates: "CLOSED > SYN_SENT > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSED",
		serverStates: "LISTEN > SYN_RCVD > ESTABLISHED > FIN_WAIT_1 > TIME_WAIT",
		c2s:          7, s2c: 11,
		anomalies: []wantAnomaly{{id: "reuse-in-time-wait", side: "server", severity: "warning", frame: 11, count: 1,
			text: "RFC 6191 accepts it"}},
	}},
	// The receiver stops reading for 4 s: zero window from frame 34 to the
	// update at frame 42, probed four times.
	"zero-window": {{
		clientPort: 41008, incarnation: 1, outcome: "closed-by-client",
		clientStates: "CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > FIN_WAIT_2 > TIME_WAIT",
		serverStates: "LISTEN > SYN_RCVD > ESTABLISHED > CLOSE_WAIT > LAST_ACK > CLOSED",
		// 262144 bytes, plus the 992 and 1448 bytes sent again by the two
		// tail-loss probes (frames 25 and 31): bytes count as on the wire.
		c2s: 262144 + 992 + 1448, s2c: 11,
		anomalies: []wantAnomaly{
			{id: "zero-window", side: "server", severity: "warning", frame: 34, count: 4, text: "from frame 34 to the window update at frame 42"},
			{id: "keep-alive", side: "client", severity: "info", frame: 35, count: 4, text: "4 of them while the server's window was zero"},
			{id: "retransmission", side: "client", severity: "warning", frame: 25, count: 2},
			{id: "window-full", side: "client", severity: "info", frame: 24, count: 33},
		},
	}},
}

// readEvidence runs tcplens read --format json on one capture.
func readEvidence(t *testing.T, name string) []report.Record {
	t.Helper()
	out, errOut, err := runCLI(t, nil, "read", "--format", "json", filepath.Join(evidenceDir, name+".pcapng"))
	if err != nil {
		t.Fatalf("read %s: %v\n%s", name, err, errOut)
	}
	var recs []report.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestAnomalyCapturesMatchTheScript(t *testing.T) {
	for name, conns := range evidence {
		t.Run(name, func(t *testing.T) {
			recs := readEvidence(t, name)
			if len(recs) != len(conns) {
				t.Errorf("%d connections, want %d", len(recs), len(conns))
			}
			for _, w := range conns {
				r := findRecord(recs, w.clientPort, w.incarnation)
				if r == nil {
					t.Errorf("no connection from client port %d, incarnation %d", w.clientPort, w.incarnation)
					continue
				}
				label := fmt.Sprintf("port %d #%d", w.clientPort, w.incarnation)
				if r.Outcome != w.outcome {
					t.Errorf("%s: outcome %s (%s), want %s", label, r.Outcome, r.OutcomeText, w.outcome)
				}
				if got := strings.Join(r.ClientStates, " > "); got != w.clientStates {
					t.Errorf("%s: client states\n got %s\nwant %s", label, got, w.clientStates)
				}
				if got := strings.Join(r.ServerStates, " > "); got != w.serverStates {
					t.Errorf("%s: server states\n got %s\nwant %s", label, got, w.serverStates)
				}
				if w.c2s >= 0 && r.ClientToServer.Bytes != w.c2s {
					t.Errorf("%s: %d bytes client to server, want %d", label, r.ClientToServer.Bytes, w.c2s)
				}
				if w.s2c >= 0 && r.ServerToClient.Bytes != w.s2c {
					t.Errorf("%s: %d bytes server to client, want %d", label, r.ServerToClient.Bytes, w.s2c)
				}
				checkAnomalies(t, label, r.Anomalies, w.anomalies)
				if r.CaptureLoss {
					t.Errorf("%s: marked as capture loss, but tcpdump dropped nothing", label)
				}
			}
		})
	}
}

func findRecord(recs []report.Record, port uint16, incarnation int) *report.Record {
	suffix := fmt.Sprintf(":%d", port)
	for i := range recs {
		if strings.HasSuffix(recs[i].Client, suffix) && recs[i].Incarnation == incarnation {
			return &recs[i]
		}
	}
	return nil
}

// checkAnomalies wants exactly the anomalies listed, no more.
func checkAnomalies(t *testing.T, label string, got []report.Anomaly, want []wantAnomaly) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, a := range got {
			if used[i] || a.ID != w.id || a.Side != w.side {
				continue
			}
			used[i], found = true, true
			if a.Severity != w.severity || w.frame != 0 && a.Frame != w.frame || w.count != 0 && a.Count != w.count || !strings.Contains(a.Text, w.text) {
				t.Errorf("%s: %s (%s): severity %s, frame %d, count %d, text %q; want %s, frame %d, count %d, text with %q",
					label, w.id, w.side, a.Severity, a.Frame, a.Count, a.Text, w.severity, w.frame, w.count, w.text)
			}
		}
		if !found {
			t.Errorf("%s: no %s anomaly on the %s side", label, w.id, w.side)
		}
	}
	for i, a := range got {
		if !used[i] {
			t.Errorf("%s: unexpected anomaly %s (%s, frame %d, x%d): %s", label, a.ID, a.Side, a.Frame, a.Count, a.Text)
		}
	}
}

// ssSocket is one socket line of an ss snapshot.
type ssSocket struct {
	state       string // ss's spelling: ESTAB, FIN-WAIT-2, ...
	local, peer string
}

// ssSnapshot is one "=== side ... at HH:MM:SS.mmm UTC" block.
type ssSnapshot struct {
	header  string
	at      time.Duration // time of day, UTC
	sockets []ssSocket
}

var ssHeader = regexp.MustCompile(`^=== (client|server) \S+ \(namespace \S+\) at (\d\d):(\d\d):(\d\d)\.(\d\d\d) UTC`)

func readSnapshots(t *testing.T, path string) []ssSnapshot {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var snaps []ssSnapshot
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := ssHeader.FindStringSubmatch(line); m != nil {
			var n [4]int
			for i := range n {
				n[i], _ = strconv.Atoi(m[2+i]) // the pattern allows digits only
			}
			at := time.Duration(n[0])*time.Hour + time.Duration(n[1])*time.Minute + time.Duration(n[2])*time.Second + time.Duration(n[3])*time.Millisecond
			snaps = append(snaps, ssSnapshot{header: line, at: at})
			continue
		}
		if strings.HasPrefix(line, "===") {
			snaps = append(snaps, ssSnapshot{}) // counters and rulesets: not sockets
			continue
		}
		fields := strings.Fields(line)
		if len(snaps) == 0 || snaps[len(snaps)-1].header == "" || len(fields) < 5 || strings.HasPrefix(line, "\t") || fields[0] == "State" || fields[0] == "LISTEN" {
			continue
		}
		s := &snaps[len(snaps)-1]
		s.sockets = append(s.sockets, ssSocket{state: fields[0], local: fields[3], peer: fields[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return snaps
}

// ssStates maps ss's spelling to tcplens's.
var ssStates = map[string]string{
	"SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RCVD", "ESTAB": "ESTABLISHED",
	"FIN-WAIT-1": "FIN_WAIT_1", "FIN-WAIT-2": "FIN_WAIT_2", "CLOSE-WAIT": "CLOSE_WAIT",
	"CLOSING": "CLOSING", "LAST-ACK": "LAST_ACK", "TIME-WAIT": "TIME_WAIT",
}

// stateAt returns side's state at capture time at.
func stateAt(r *report.Record, side string, at time.Time) string {
	states := r.ClientStates
	if side == "server" {
		states = r.ServerStates
	}
	s := states[0]
	for _, tr := range r.Transitions {
		if tr.Side == side && !tr.Time.After(at) {
			s = tr.To
		}
	}
	return s
}

// ssExceptions are the snapshots where the kernel knows what no packet at
// the capture point can show, keyed by capture, side and ss state.
var ssExceptions = map[string]string{
	// The client entered TIME_WAIT when it got the server's FIN and sent
	// an ACK; that ACK was dropped before the capture point (the server's
	// end), so from the packets the client is still waiting in FIN_WAIT_2.
	"final-ack-dropped client TIME-WAIT": "FIN_WAIT_2",
}

// Every socket in every ss snapshot, matched to its connection by 4-tuple,
// is in the state that tcplens infers for that side at that moment.
func TestAnomalyCapturesAgreeWithSS(t *testing.T) {
	for name := range evidence {
		t.Run(name, func(t *testing.T) {
			recs := readEvidence(t, name)
			compared := 0
			for _, snap := range readSnapshots(t, filepath.Join(evidenceDir, name+".ss.txt")) {
				if snap.header == "" {
					continue
				}
				side := "client"
				if strings.HasPrefix(snap.header, "=== server") {
					side = "server"
				}
				for _, sock := range snap.sockets {
					client, server := sock.local, sock.peer
					if side == "server" {
						client, server = server, client
					}
					r := recordAt(recs, client, server, snap.at)
					if r == nil {
						t.Errorf("%s: %s socket %s %s-%s: no connection in the capture", snap.header, side, sock.state, sock.local, sock.peer)
						continue
					}
					day := r.Start.UTC().Truncate(24 * time.Hour)
					got := stateAt(r, side, day.Add(snap.at))
					want, ok := ssStates[sock.state]
					if ex, isEx := ssExceptions[name+" "+side+" "+sock.state]; isEx {
						want = ex
					} else if !ok {
						t.Errorf("%s: unknown ss state %s", snap.header, sock.state)
						continue
					}
					compared++
					if got != want {
						t.Errorf("%s\n  %s %s-%s: ss says %s, tcplens has the %s in %s", snap.header, side, sock.local, sock.peer, sock.state, side, got)
					}
				}
			}
			t.Logf("%d ss sockets compared", compared)
			if compared == 0 && name != "refused" {
				t.Errorf("no ss socket compared")
			}
		})
	}
}

// recordAt finds the incarnation of client-server alive at time of day
// at: the last one that started before it.
func recordAt(recs []report.Record, client, server string, at time.Duration) *report.Record {
	var found *report.Record
	for i := range recs {
		r := &recs[i]
		start := r.Start.UTC()
		if r.Client == client && r.Server == server && start.Sub(start.Truncate(24*time.Hour)) <= at {
			found = r
		}
	}
	return found
}

// The anomalies command over every evidence capture, and the table of the
// two richest ones, as a user reads them; reviewed by eye when they change.
func TestEvidenceGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(evidenceDir, "*.pcapng"))
	if err != nil || len(files) != len(evidence) {
		t.Fatalf("evidence captures: %v, %v", files, err)
	}
	out, errOut, err := runCLI(t, nil, append([]string{"anomalies"}, files...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	golden(t, "evidence.anomalies.golden", out)
	out, errOut, err = runCLI(t, nil, "read", filepath.Join(evidenceDir, "loss.pcapng"), filepath.Join(evidenceDir, "zero-window.pcapng"))
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	golden(t, "evidence.table.golden", out)
}

// --fail-on turns anomalies into an exit status, as a CI job sees it: the
// real binary, its exit code.
func TestFailOnExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "tcplens")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		capture, failOn string
		want            int
		ignore          string
	}{
		{"close-wait", "error", 3, ""},                   // close-wait-stuck is an error
		{"abort", "error", 0, ""},                        // rst-abort is a warning
		{"abort", "warning", 3, ""},                      //
		{"refused", "never", 0, ""},                      // the default
		{"zero-window", "info", 3, ""},                   // keep-alive, window-full
		{"close-wait", "critical", 1, ""},                // not a severity
		{"close-wait", "error", 0, "close-wait-stuck"},   // known, so not a failure
		{"close-wait", "info", 3, "close-wait-stuck"},    // open-at-end is still there
		{"close-wait", "error", 1, "close-wait-stuk"},    // not an id: a typo must not pass
		{"abort", "warning", 0, "rst-abort,open-at-end"}, // a list
	} {
		args := []string{"anomalies", "--fail-on", tc.failOn}
		if tc.ignore != "" {
			args = append(args, "--ignore", tc.ignore)
		}
		cmd := exec.Command(bin, append(args, filepath.Join(evidenceDir, tc.capture+".pcapng"))...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("anomalies --fail-on %s --ignore %q %s: exit %d, want %d\n%s", tc.failOn, tc.ignore, tc.capture, code, tc.want, out)
		}
	}
}

// --workers changes how the work is spread, never what is printed.
func TestWorkersFlagSameOutput(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(evidenceDir, "*.pcapng"))
	files = append(files, demo)
	for _, format := range []string{"table", "ndjson"} {
		args := append([]string{"read", "--format", format}, files...)
		want, _, err := runCLI(t, nil, append(args, "--workers", "1")...)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"2", "3", "0"} {
			got, _, err := runCLI(t, nil, append(args, "--workers", n)...)
			if err != nil || got != want {
				t.Errorf("--format %s --workers %s: output differs from --workers 1 (err %v)", format, n, err)
			}
		}
	}
	if _, _, err := runCLI(t, nil, "read", "--workers", "-1", demo); err == nil {
		t.Error("--workers -1 accepted")
	}
}

// -f selects packets with tcpdump's syntax; the footer counts the rest.
// Frame numbers stay those of the file, as in Wireshark.
func TestReadFilter(t *testing.T) {
	file := filepath.Join(evidenceDir, "close-wait.pcapng")
	for _, tc := range []struct {
		expr  string
		conns int
		port  string
	}{
		{"port 41001", 1, ":41001"},
		{"tcp and not port 41001", 1, ":41011"},
		{"port 9001", 2, ""},
		{"host 10.214.0.99", 0, ""},
	} {
		out, errOut, err := runCLI(t, nil, "read", "--format", "json", "-f", tc.expr, file)
		if err != nil {
			t.Fatalf("-f %q: %v\n%s", tc.expr, err, errOut)
		}
		var recs []report.Record
		if err := json.Unmarshal([]byte(out), &recs); err != nil {
			t.Fatal(err)
		}
		if len(recs) != tc.conns || tc.port != "" && !strings.HasSuffix(recs[0].Client, tc.port) {
			t.Errorf("-f %q: %d connections (%v), want %d from port %q", tc.expr, len(recs), recs, tc.conns, tc.port)
		}
		if tc.expr == "port 41001" && (recs[0].FirstFrame != 10 || recs[0].LastFrame != 18) {
			t.Errorf("-f %q: frames %d-%d, want the file's 10-18", tc.expr, recs[0].FirstFrame, recs[0].LastFrame)
		}
	}
	out, _, err := runCLI(t, nil, "read", "-f", "port 41001", file)
	if err != nil || !strings.Contains(out, "filtered out: 33 packets (-f)") {
		t.Errorf("footer of -f: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, nil, "read", "-f", "port", file); err == nil {
		t.Error("a broken filter was accepted")
	}
}

// --ignore leaves the ignored ids out of what is listed too, in every
// format; the rest stays.
func TestAnomaliesIgnore(t *testing.T) {
	file := filepath.Join(evidenceDir, "close-wait.pcapng")
	for _, format := range []string{"text", "json", "ndjson"} {
		out, _, err := runCLI(t, nil, "anomalies", "--format", format, "--ignore", "close-wait-stuck", file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "close-wait-stuck") || !strings.Contains(out, "open-at-end") {
			t.Errorf("%s: close-wait-stuck listed or open-at-end missing:\n%s", format, out)
		}
	}
}
