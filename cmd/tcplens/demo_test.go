package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/report"
)

// TestDemoMatchesRecording checks each connection of the demo capture
// against what testdata/record-demo.sh made the kernel do (see
// testdata/demo.md): matched by server port, not by row, so a new
// recording keeps the test valid.
func TestDemoMatchesRecording(t *testing.T) {
	type want struct {
		outcome      string
		clientStates string
		serverStates string
	}
	wants := map[string]want{
		"8001": {"closed-by-client", // client closes first; the server's FIN carries the ACK of the client's
			"CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 TIME_WAIT",
			"LISTEN SYN_RCVD ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED"},
		"8002": {"closed-by-server",
			"CLOSED SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED",
			"LISTEN SYN_RCVD ESTABLISHED FIN_WAIT_1 TIME_WAIT"},
		"8003": {"refused", "CLOSED SYN_SENT CLOSED", "LISTEN CLOSED"},
		"8004": {"reset", // SO_LINGER 0 on the client
			"CLOSED SYN_SENT ESTABLISHED CLOSED",
			"LISTEN SYN_RCVD ESTABLISHED CLOSED"},
		"8005": {"open", "CLOSED SYN_SENT ESTABLISHED", "LISTEN SYN_RCVD ESTABLISHED"},
	}
	out, _, err := runCLI(t, nil, "read", "-o", "json", demo)
	if err != nil {
		t.Fatal(err)
	}
	var recs []report.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	got := map[string]want{}
	for _, r := range recs {
		port := r.Server[strings.LastIndex(r.Server, ":")+1:]
		got[port] = want{r.Outcome, strings.Join(r.ClientStates, " "), strings.Join(r.ServerStates, " ")}
		if r.Partial || r.RoleGuessed {
			t.Errorf("port %s: every demo connection starts with a captured SYN", port)
		}
	}
	if diff := cmp.Diff(wants, got, cmp.AllowUnexported(want{})); diff != "" {
		t.Errorf("demo connections (-want +got):\n%s", diff)
	}
	if strings.Contains(out, `"outcome_text": "reset by client in ESTABLISHED"`) == false {
		t.Errorf("the abortive close must read %q", "reset by client in ESTABLISHED")
	}
}
