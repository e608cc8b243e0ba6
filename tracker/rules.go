package tracker

// Rule names why a state transition was inferred. The ids are stable: they
// appear in JSON output and users match on them.
type Rule uint8

// The inference rules.
const (
	RuleNone               Rule = iota
	RuleSentSYN                 // sent a SYN
	RuleSentSYNACK              // sent a SYN-ACK
	RuleSentACKOfSYN            // acknowledged the peer's SYN
	RuleGotACKOfSYN             // its SYN was acknowledged
	RuleSentFIN                 // sent a FIN
	RuleSentACKOfFIN            // acknowledged the peer's FIN
	RuleGotACKOfFIN             // its FIN was acknowledged
	RuleGotFINWithACKOfFIN      // got the peer's FIN on the segment that acknowledged its own
	RuleSentRST                 // sent an acceptable RST
	RuleGotRST                  // got an acceptable RST
	RuleMidStream               // first seen mid-stream
	RuleSYNACKWithoutSYN        // first seen at the SYN-ACK; the SYN was not captured
	RuleFINRetransmitted        // its FIN was retransmitted: the ACK seen earlier never reached it
	RuleTimeWaitExpired         // 2*MSL of capture time passed in TIME_WAIT
	numRules
)

var ruleInfo = [numRules]struct{ id, text string }{
	RuleNone:               {"none", "no rule"},
	RuleSentSYN:            {"sent-syn", "sent a SYN"},
	RuleSentSYNACK:         {"sent-syn-ack", "sent a SYN-ACK"},
	RuleSentACKOfSYN:       {"sent-ack-of-syn", "acknowledged the peer's SYN"},
	RuleGotACKOfSYN:        {"received-ack-of-syn", "its SYN was acknowledged"},
	RuleSentFIN:            {"sent-fin", "sent a FIN"},
	RuleSentACKOfFIN:       {"sent-ack-of-fin", "acknowledged the peer's FIN"},
	RuleGotACKOfFIN:        {"received-ack-of-fin", "its FIN was acknowledged"},
	RuleGotFINWithACKOfFIN: {"received-fin-with-ack-of-fin", "received the peer's FIN on the segment that acknowledged its own"},
	RuleSentRST:            {"sent-rst", "sent a RST"},
	RuleGotRST:             {"received-rst", "received an acceptable RST"},
	RuleMidStream:          {"picked-up-mid-stream", "the connection's opening was not captured"},
	RuleFINRetransmitted:   {"fin-retransmitted", "retransmitted its FIN, so the ACK seen earlier did not reach it"},
	RuleTimeWaitExpired:    {"time-wait-expired", "2*MSL of capture time passed in TIME_WAIT"},
}

// String returns the rule's stable kebab-case id.
func (r Rule) String() string {
	if r < numRules {
		return ruleInfo[r].id
	}
	return "invalid"
}

// Text explains the rule in words.
func (r Rule) Text() string {
	if r < numRules {
		return ruleInfo[r].text
	}
	return "invalid rule"
}
