package tracker

// State is an endpoint's TCP state (RFC 9293 section 3.3.2), or Unknown
// when nothing seen so far tells it.
type State uint8

// The eleven RFC 9293 states, plus Unknown.
const (
	Unknown State = iota
	Closed
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
	numStates
)

var stateNames = [numStates]string{
	Unknown:     "UNKNOWN",
	Closed:      "CLOSED",
	Listen:      "LISTEN",
	SynSent:     "SYN_SENT",
	SynReceived: "SYN_RCVD",
	Established: "ESTABLISHED",
	FinWait1:    "FIN_WAIT_1",
	FinWait2:    "FIN_WAIT_2",
	CloseWait:   "CLOSE_WAIT",
	Closing:     "CLOSING",
	LastAck:     "LAST_ACK",
	TimeWait:    "TIME_WAIT",
}

// String returns the state's name as netstat spells it, e.g. "FIN_WAIT_1".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "INVALID"
}

// closedOrWaiting reports whether nothing but a new incarnation or a late
// retransmission can happen to an endpoint in s.
func (s State) closedOrWaiting() bool { return s == Closed || s == TimeWait }

// Side is one endpoint of a connection.
type Side uint8

// The client is the side that sent the first SYN (or, without a SYN, the
// side the heuristics chose).
const (
	Client Side = iota
	Server
)

// Peer returns the other side.
func (s Side) Peer() Side { return 1 - s }

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}
