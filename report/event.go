package report

import (
	"encoding/json"

	"github.com/tcplens/tcplens/tracker"
)

// EventSchemaVersion names the records of a live capture's events.
const EventSchemaVersion = "tcplens.event/v1"

// eventHead is what every event record starts with.
type eventHead struct {
	Schema string `json:"schema"`
	Client string `json:"client"`
	Server string `json:"server"`
	Event  string `json:"event"` // transition or anomaly
}

// AppendEvent appends e as one line of JSON (EventSchemaVersion): its
// connection's client and server, then the fields the connection's record
// gives the transition or the anomaly.
func AppendEvent(b []byte, e tracker.Event) []byte {
	head := eventHead{Schema: EventSchemaVersion, Client: e.Conn.Client.String(), Server: e.Conn.Server.String()}
	var v any
	if t := e.Transition; t != nil {
		head.Event = "transition"
		v = struct {
			eventHead
			Transition
		}{head, newTransition(e.Conn, t)}
	} else {
		head.Event = "anomaly"
		v = struct {
			eventHead
			Anomaly
		}{head, newAnomaly(e.Anomaly)}
	}
	j, _ := json.Marshal(v) // strings, numbers and times: it cannot fail
	return append(append(b, j...), '\n')
}
