package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/netns"
	"github.com/tcplens/tcplens/report"
)

// buildTcplens builds the command into a temporary directory.
func buildTcplens(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tcplens")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// liveScenarios are run between two namespaces, one connection each, from
// a fixed client port to a server port.
const (
	portClientCloses = 7001 // the client closes first
	portServerCloses = 7002 // the server closes first
	portRefused      = 7003 // nothing listens
	portAbort        = 7004 // the server closes with SO_LINGER 0: RST
	portNeverCloses  = 7005 // the client closes, the server never does
	portStaysOpen    = 7006 // nobody closes
)

func clientPortOf(server int) int { return server - 7000 + 47000 }

// TestSniffLive captures real kernel TCP between two network namespaces
// with the tcplens binary, stops it with SIGINT, and checks the lifecycles
// it reports against what the test did and against ss in both namespaces.
func TestSniffLive(t *testing.T) {
	if why := netns.Usable(); why != "" {
		t.Skip(why)
	}
	bin := buildTcplens(t)
	sfx := netns.Suffix()
	cns, sns := netns.New(t, "tl-live-c-"+sfx), netns.New(t, "tl-live-s-"+sfx)
	cif, sif := "tlc"+sfx, "tls"+sfx
	netns.Link(t, cns, cif, "10.216.0.1/24", sns, sif, "10.216.0.2/24")
	const clientAddr, serverAddr = "10.216.0.1", "10.216.0.2"
	pcap := filepath.Join(t.TempDir(), "live.pcapng")

	var stdout, stderr syncBuffer
	sniffer := cns.Command(bin, "sniff", "-i", cif, "--format", "ndjson", "--events", "--close-wait", "1s", "-w", pcap, "--summary", "off", "--duration", "60s")
	sniffer.Stdout, sniffer.Stderr = &stdout, &stderr
	if err := sniffer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sniffer.Process.Kill(); _ = sniffer.Wait() }()
	// A second one on every interface of the client namespace (lo and the
	// veth end), stopped by SIGTERM.
	var anyOut, anyErr syncBuffer
	anySniffer := cns.Command(bin, "sniff", "-i", "any", "--format", "ndjson", "--close-wait", "1s", "--summary", "on")
	anySniffer.Stdout, anySniffer.Stderr = &anyOut, &anyErr
	if err := anySniffer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = anySniffer.Process.Kill() }()
	// A third stops by itself after --count packets.
	var countErr syncBuffer
	countSniffer := cns.Command(bin, "sniff", "-i", cif, "--count", "5", "--format", "json", "-B", "2") // a small ring works too
	countSniffer.Stderr = &countErr
	var countOut syncBuffer
	countSniffer.Stdout = &countOut
	if err := countSniffer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = countSniffer.Process.Kill() }()
	waitFor(t, &stderr, "capturing on", 10*time.Second)
	waitFor(t, &anyErr, "capturing on", 10*time.Second)
	waitFor(t, &countErr, "capturing on", 10*time.Second)
	if !strings.Contains(anyErr.String(), "lo") || !strings.Contains(anyErr.String(), cif) {
		t.Errorf("-i any did not capture on lo and %s: %s", cif, anyErr.String())
	}

	// The servers, in the server namespace.
	var held []net.Conn
	var mu sync.Mutex
	hold := func(c net.Conn) { mu.Lock(); held = append(held, c); mu.Unlock() }
	defer func() {
		mu.Lock() // a handler may still be holding one
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	serve := map[int]func(c *net.TCPConn){
		portClientCloses: func(c *net.TCPConn) { echoLine(c); _, _ = io.Copy(io.Discard, c); c.Close() },
		portServerCloses: func(c *net.TCPConn) { echoLine(c); c.Close() },
		portAbort:        func(c *net.TCPConn) { echoLine(c); _ = c.SetLinger(0); c.Close() },
		portNeverCloses:  func(c *net.TCPConn) { echoLine(c); _, _ = io.Copy(io.Discard, c); hold(c) },
		portStaysOpen:    func(c *net.TCPConn) { echoLine(c); hold(c) },
	}
	var listeners []net.Listener
	err := sns.Do(func() error {
		for port, handle := range serve {
			ln, err := net.Listen("tcp4", net.JoinHostPort(serverAddr, fmt.Sprint(port)))
			if err != nil {
				return err
			}
			listeners = append(listeners, ln)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go handle(c.(*net.TCPConn))
				}
			}()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}()

	// The clients, in the client namespace, one scenario after the other.
	err = cns.Do(func() error {
		for _, port := range []int{portClientCloses, portServerCloses, portRefused, portAbort, portNeverCloses, portStaysOpen} {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientAddr), Port: clientPortOf(port)}, Timeout: 3 * time.Second}
			c, err := d.Dial("tcp4", net.JoinHostPort(serverAddr, fmt.Sprint(port)))
			if port == portRefused {
				if err == nil || !strings.Contains(err.Error(), "refused") {
					return fmt.Errorf("port %d: want connection refused, got %v", port, err)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("port %d: %v", port, err)
			}
			tc := c.(*net.TCPConn)
			if _, err := fmt.Fprintf(c, "hello %d\n", port); err != nil {
				return err
			}
			_, _ = bufio.NewReader(c).ReadString('\n')
			switch port {
			case portClientCloses, portNeverCloses:
				c.Close()
			case portServerCloses, portAbort:
				_, _ = io.Copy(io.Discard, c) // until the server's FIN or RST
				c.Close()
			case portStaysOpen:
				hold(c)
			}
			_ = tc.CloseWrite // (the scenarios close whole sockets)
			time.Sleep(100 * time.Millisecond)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Let the close-wait threshold (1 s) and the 2 s linger pass, then ask
	// the kernel what it thinks.
	time.Sleep(3 * time.Second)
	// --events: close-wait-stuck is reported while the capture runs, not
	// only when it ends.
	neverCloses := fmt.Sprintf(`"client":"%s:%d"`, clientAddr, clientPortOf(portNeverCloses))
	if !strings.Contains(eventLines(stdout.String(), neverCloses), `"id":"close-wait-stuck"`) {
		t.Errorf("no close-wait-stuck event while capturing; events:\n%s", eventLines(stdout.String(), neverCloses))
	}
	ssClient, ssServer := cns.Run("ss", "-tan"), sns.Run("ss", "-tan")

	if err := sniffer.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := anySniffer.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := sniffer.Wait(); err != nil {
		t.Fatalf("sniff after SIGINT: %v (want exit 0)\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "packets captured") {
		t.Errorf("no final summary on stderr:\n%s", stderr.String())
	}
	events := eventLines(stdout.String(), neverCloses)
	for _, want := range []string{`"from":"CLOSED","to":"SYN_SENT"`, `"side":"server","from":"ESTABLISHED","to":"CLOSE_WAIT"`, `"side":"client","from":"FIN_WAIT_1","to":"FIN_WAIT_2"`} {
		if !strings.Contains(events, want) {
			t.Errorf("no event with %s for port %d; events:\n%s", want, portNeverCloses, events)
		}
	}
	recs := parseNDJSON(t, recordLines(stdout.String()))
	byPort := map[int]report.Record{}
	for _, r := range recs {
		_, port, _ := net.SplitHostPort(r.Client)
		var p int
		fmt.Sscan(port, &p)
		byPort[p] = r
	}
	want := []struct {
		server               int
		outcome              string
		clientEnd, serverEnd string // final states
		anomaly              string
	}{
		{portClientCloses, "closed-by-client", "TIME_WAIT", "CLOSED", ""},
		{portServerCloses, "closed-by-server", "CLOSED", "TIME_WAIT", ""},
		{portRefused, "refused", "CLOSED", "CLOSED", "syn-refused"},
		{portAbort, "reset", "CLOSED", "CLOSED", "rst-abort"},
		{portNeverCloses, "half-closed", "FIN_WAIT_2", "CLOSE_WAIT", "close-wait-stuck"},
		{portStaysOpen, "open", "ESTABLISHED", "ESTABLISHED", "open-at-end"},
	}
	for _, w := range want {
		r, ok := byPort[clientPortOf(w.server)]
		if !ok {
			t.Errorf("port %d: no record; records:\n%s", w.server, stdout.String())
			continue
		}
		cs, ss := r.ClientStates[len(r.ClientStates)-1], r.ServerStates[len(r.ServerStates)-1]
		if r.Outcome != w.outcome || cs != w.clientEnd || ss != w.serverEnd {
			t.Errorf("port %d: %s, client %s, server %s; want %s, %s, %s", w.server, r.Outcome, cs, ss, w.outcome, w.clientEnd, w.serverEnd)
		}
		if w.anomaly != "" && !hasAnomalyID(r, w.anomaly) {
			t.Errorf("port %d: no %s anomaly: %+v", w.server, w.anomaly, r.Anomalies)
		}
		if r.CaptureLoss {
			t.Errorf("port %d: marked capture_loss", w.server)
		}
	}
	// The kernel's view at the end, for the connections that still had
	// sockets then.
	for _, k := range []struct {
		ss     string
		local  string
		state  string
		record int
		side   string
	}{
		{ssClient, net.JoinHostPort(clientAddr, fmt.Sprint(clientPortOf(portClientCloses))), "TIME-WAIT", portClientCloses, "client"},
		{ssServer, net.JoinHostPort(serverAddr, fmt.Sprint(portServerCloses)), "TIME-WAIT", portServerCloses, "server"},
		{ssClient, net.JoinHostPort(clientAddr, fmt.Sprint(clientPortOf(portNeverCloses))), "FIN-WAIT-2", portNeverCloses, "client"},
		{ssServer, net.JoinHostPort(serverAddr, fmt.Sprint(portNeverCloses)), "CLOSE-WAIT", portNeverCloses, "server"},
		{ssClient, net.JoinHostPort(clientAddr, fmt.Sprint(clientPortOf(portStaysOpen))), "ESTAB", portStaysOpen, "client"},
		{ssServer, net.JoinHostPort(serverAddr, fmt.Sprint(portStaysOpen)), "ESTAB", portStaysOpen, "server"},
	} {
		if !ssHas(k.ss, k.state, k.local) {
			t.Errorf("ss has no %s socket on %s:\n%s", k.state, k.local, k.ss)
		}
		r := byPort[clientPortOf(k.record)]
		states := r.ClientStates
		if k.side == "server" {
			states = r.ServerStates
		}
		if len(states) == 0 || ssStates[k.state] != states[len(states)-1] {
			t.Errorf("port %d: ss says the %s is %s, tcplens %v", k.record, k.side, k.state, states)
		}
	}

	if err := countSniffer.Wait(); err != nil {
		t.Errorf("sniff --count 5: %v\n%s", err, countErr.String())
	}
	if !strings.Contains(countErr.String(), "tcplens: 5 packets captured") || !strings.HasPrefix(strings.TrimSpace(countOut.String()), "[") {
		t.Errorf("sniff --count 5 --format json: stderr %q, stdout %q", countErr.String(), countOut.String())
	}

	// -i any saw the same connections end the same way.
	if err := anySniffer.Wait(); err != nil {
		t.Fatalf("sniff -i any after SIGTERM: %v (want exit 0)\n%s", err, anyErr.String())
	}
	// --summary on: the summary was drawn, erased and drawn again.
	for _, want := range []string{"── tcplens sniff ──", "open: ", "  client: ", "  server: ", "latest anomalies:", "close-wait-stuck", "\x1b[J"} {
		if !strings.Contains(anyErr.String(), want) {
			t.Errorf("live summary lacks %q:\n%s", want, anyErr.String())
		}
	}
	anyRecs := parseNDJSON(t, anyOut.String())
	if len(anyRecs) != len(recs) {
		t.Errorf("-i any: %d connections, -i %s: %d", len(anyRecs), cif, len(recs))
	}
	for _, r := range anyRecs {
		_, port, _ := net.SplitHostPort(r.Client)
		var p int
		fmt.Sscan(port, &p)
		if byPort[p].Outcome != r.Outcome {
			t.Errorf("port %d: -i any says %s, -i %s says %s", p, r.Outcome, cif, byPort[p].Outcome)
		}
	}

	// -w wrote what was captured: reading it gives the same lifecycles.
	out, errOut, err := runCLI(t, nil, "read", "--format", "ndjson", "--close-wait", "1s", pcap)
	if err != nil {
		t.Fatalf("read %s: %v\n%s", pcap, err, errOut)
	}
	again := parseNDJSON(t, out)
	if len(again) != len(recs) {
		t.Fatalf("reading the -w file: %d connections, sniff reported %d", len(again), len(recs))
	}
	for _, r := range again {
		_, port, _ := net.SplitHostPort(r.Client)
		var p int
		fmt.Sscan(port, &p)
		live := byPort[p]
		if r.Outcome != live.Outcome || strings.Join(r.ClientStates, ">") != strings.Join(live.ClientStates, ">") || strings.Join(r.ServerStates, ">") != strings.Join(live.ServerStates, ">") {
			t.Errorf("port %d: read of -w file says %s %v %v; sniff said %s %v %v", p, r.Outcome, r.ClientStates, r.ServerStates, live.Outcome, live.ClientStates, live.ServerStates)
		}
	}
}

// eventLines returns the --events lines that contain match.
func eventLines(out, match string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"schema":"tcplens.event/v1"`) && strings.Contains(line, match) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// recordLines returns the connection records of ndjson output.
func recordLines(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"schema":"tcplens.conn/v1"`) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func echoLine(c net.Conn) {
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil {
		_, _ = io.WriteString(c, "re: "+line)
	}
}

func waitFor(t *testing.T, buf *syncBuffer, what string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(buf.String(), what) {
		if time.Now().After(deadline) {
			t.Fatalf("%q did not appear within %s; got:\n%s", what, limit, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func parseNDJSON(t *testing.T, s string) []report.Record {
	t.Helper()
	var recs []report.Record
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var r report.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		recs = append(recs, r)
	}
	return recs
}

func hasAnomalyID(r report.Record, id string) bool {
	for _, a := range r.Anomalies {
		if a.ID == id {
			return true
		}
	}
	return false
}

// ssHas reports whether ss -tan output has a socket in state on local.
func ssHas(ss, state, local string) bool {
	for _, line := range strings.Split(ss, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == state && f[3] == local {
			return true
		}
	}
	return false
}

// Without the privilege to capture, sniff says what is missing and how to
// grant it, not a raw errno.
func TestSniffWithoutPrivilege(t *testing.T) {
	if why := netns.Usable(); why != "" {
		t.Skip(why)
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("needs setpriv (util-linux) to drop root")
	}
	bin := buildTcplens(t)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
		bin, "sniff", "-i", "lo", "--duration", "1s")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("unprivileged sniff: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{"root or the CAP_NET_RAW capability", "setcap cap_net_raw,cap_net_admin+eip"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
}

// tcplens interfaces lists at least the loopback interface, as Ethernet.
func TestInterfaces(t *testing.T) {
	out, _, err := runCLI(t, nil, "interfaces")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "lo" && f[2] == "Ethernet" {
			found = true
		}
	}
	if !found {
		t.Errorf("no lo line in:\n%s", out)
	}
}
