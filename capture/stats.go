package capture

// Reason says why a packet was not tracked as a TCP segment.
type Reason uint8

// The reasons a packet is not tracked. Every packet is counted once: as TCP
// (ReasonNone) or under exactly one of these.
const (
	ReasonNone         Reason = iota // a TCP segment, tracked
	ReasonNotIP                      // link layer carried no IP (ARP, LLDP, STP, ...)
	ReasonNotTCP                     // IP carried UDP, ICMP or another protocol
	ReasonFragment                   // IP fragment: counted, not reassembled or tracked
	ReasonMalformed                  // a header below TCP was cut short or inconsistent
	ReasonMalformedTCP               // the TCP header itself was cut short or inconsistent
	ReasonLinkType                   // the link type is not one tcplens decodes
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:         "tcp",
	ReasonNotIP:        "not-ip",
	ReasonNotTCP:       "not-tcp",
	ReasonFragment:     "ip-fragment",
	ReasonMalformed:    "malformed",
	ReasonMalformedTCP: "malformed-tcp",
	ReasonLinkType:     "unsupported-link-type",
}

// String returns the reason's stable kebab-case name.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every reason other than ReasonNone, in a stable order.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Stats counts what a Reader has read.
type Stats struct {
	Packets   int64             // every record read
	ByReason  [numReasons]int64 // ByReason[ReasonNone] is the TCP segments
	Bytes     int64             // captured bytes of all records
	LinkTypes map[int]int64     // packets per link type of an unsupported link
	Filtered  int64             // records a filter (-f) rejected: not decoded, in no other count
}

// Tracked returns the number of packets decoded as TCP segments.
func (s *Stats) Tracked() int64 { return s.ByReason[ReasonNone] }

// TCP returns the number of packets that carried a TCP header, tracked or
// too malformed to track: the number Wireshark's "tcp" filter shows.
func (s *Stats) TCP() int64 { return s.ByReason[ReasonNone] + s.ByReason[ReasonMalformedTCP] }

// Add adds o to s.
func (s *Stats) Add(o *Stats) {
	s.Packets += o.Packets
	s.Bytes += o.Bytes
	s.Filtered += o.Filtered
	for i, n := range o.ByReason {
		s.ByReason[i] += n
	}
	for lt, n := range o.LinkTypes {
		if s.LinkTypes == nil {
			s.LinkTypes = make(map[int]int64)
		}
		s.LinkTypes[lt] += n
	}
}
