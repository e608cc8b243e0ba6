package report

import (
	"time"

	"github.com/tcplens/tcplens/tracker"
)

// SchemaVersion names the record schema. It changes when a field changes
// meaning or disappears; new fields may be added within a version.
const SchemaVersion = "tcplens.conn/v1"

// Record is one connection as every output format shows it.
type Record struct {
	Schema         string       `json:"schema"`
	File           string       `json:"file"`
	ID             uint64       `json:"id"`
	Incarnation    int          `json:"incarnation"`
	Client         string       `json:"client"`
	Server         string       `json:"server"`
	VLAN           []uint16     `json:"vlan,omitempty"`
	RoleGuessed    bool         `json:"role_guessed"`
	Partial        bool         `json:"partial"`
	Start          time.Time    `json:"start"`
	End            time.Time    `json:"end"`
	DurationS      float64      `json:"duration_s"`
	FirstFrame     int64        `json:"first_frame"`
	LastFrame      int64        `json:"last_frame"`
	ClientToServer Flow         `json:"client_to_server"`
	ServerToClient Flow         `json:"server_to_client"`
	ClientStates   []string     `json:"client_states"`
	ServerStates   []string     `json:"server_states"`
	Outcome        string       `json:"outcome"`
	OutcomeText    string       `json:"outcome_text"`
	IgnoredRSTs    int          `json:"ignored_rsts,omitempty"`
	CaptureLoss    bool         `json:"capture_loss,omitempty"`
	Anomalies      []Anomaly    `json:"anomalies"`
	Transitions    []Transition `json:"transitions"`
}

// Anomaly is one anomaly of a connection; the README's catalog explains
// every id.
type Anomaly struct {
	ID       string    `json:"id"`
	Severity string    `json:"severity"` // info, warning or error
	Side     string    `json:"side"`     // the side it concerns
	Frame    int64     `json:"frame"`    // where it was (first) seen; 0: at the end of the capture
	Time     time.Time `json:"time"`
	Count    int       `json:"count"`
	Text     string    `json:"text"`
}

// Flow counts one direction's segments and payload bytes (retransmissions
// included, as on the wire).
type Flow struct {
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
}

// Transition is one state change of one side.
type Transition struct {
	Side  string    `json:"side"`
	From  string    `json:"from"`
	To    string    `json:"to"`
	Frame int64     `json:"frame"` // 0: caused by a timer, not a packet
	Time  time.Time `json:"time"`
	Rule  string    `json:"rule"`
}

// NewRecord builds the record of a finished connection read from file.
func NewRecord(file string, c *tracker.Conn) Record {
	o := c.Outcome()
	r := Record{
		Schema:      SchemaVersion,
		File:        file,
		ID:          c.ID,
		Incarnation: c.Incarnation,
		Client:      c.Client.String(),
		Server:      c.Server.String(),
		RoleGuessed: c.RoleGuessed,
		Partial:     c.Partial,
		Start:       c.Start,
		End:         c.Last,
		DurationS:   c.Duration().Seconds(),
		FirstFrame:  c.FirstFrame,
		LastFrame:   c.LastFrame,
		ClientToServer: Flow{
			Packets: c.Dir[tracker.Client].Packets, Bytes: c.Dir[tracker.Client].Bytes,
		},
		ServerToClient: Flow{
			Packets: c.Dir[tracker.Server].Packets, Bytes: c.Dir[tracker.Server].Bytes,
		},
		ClientStates: stateNames(c.States(tracker.Client)),
		ServerStates: stateNames(c.States(tracker.Server)),
		Outcome:      o.ID,
		OutcomeText:  o.Text,
		IgnoredRSTs:  c.IgnoredRSTs,
		CaptureLoss:  c.CaptureLoss,
		Transitions:  make([]Transition, 0, len(c.Transitions)),
		Anomalies:    make([]Anomaly, 0, len(c.Anomalies)),
	}
	for i := range c.Anomalies {
		r.Anomalies = append(r.Anomalies, newAnomaly(&c.Anomalies[i]))
	}
	for _, v := range c.Key.VLAN {
		if v != 0 {
			r.VLAN = append(r.VLAN, v)
		}
	}
	for i := range c.Transitions {
		r.Transitions = append(r.Transitions, newTransition(c, &c.Transitions[i]))
	}
	return r
}

func newTransition(c *tracker.Conn, t *tracker.Transition) Transition {
	return Transition{
		Side: t.Side.String(), From: t.From.String(), To: t.To.String(),
		Frame: t.Frame, Time: c.Time(t.Offset), Rule: t.Rule.String(),
	}
}

func newAnomaly(a *tracker.Anomaly) Anomaly {
	return Anomaly{
		ID: a.ID, Severity: a.Severity.String(), Side: a.Side.String(),
		Frame: a.Frame, Time: a.Time, Count: a.Count, Text: a.Text,
	}
}

func stateNames(ss []tracker.State) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.String()
	}
	return out
}
