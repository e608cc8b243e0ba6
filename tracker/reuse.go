package tracker

import (
	"fmt"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
)

// noteReuse judges the SYN s that started c on the 4-tuple of prev.
func (c *Conn) noteReuse(prev *Conn, s *capture.Segment) {
	sender := Server // the SYN's sender, in prev's terms
	if s.Src == prev.Client {
		sender = Client
	}
	// In c the SYN's sender is the client.
	inNew := func(side Side) Side {
		if side == sender {
			return Client
		}
		return Server
	}
	for _, holder := range [...]Side{sender.Peer(), sender} {
		if prev.State[holder] != TimeWait {
			continue
		}
		age := s.Time.Sub(prev.timeWaitSince[holder])
		text := fmt.Sprintf("the SYN at frame %d reuses the 4-tuple of connection %d while its %s (%s) has been in TIME_WAIT for %s", s.Frame, prev.ID, holder, endpoint(prev, holder), round(age))
		sev := Warning
		if holder == sender {
			text += "; the TIME_WAIT is on the SYN's own host, whose stack allowed the reuse (SO_REUSEADDR or tcp_tw_reuse)"
		} else {
			old := &prev.Dir[sender]
			switch {
			case reassembly.SeqGT(s.Seq, old.NextSeq):
				text += fmt.Sprintf("; RFC 6191 accepts it: ISN %d is above the old connection's last sequence number %d", s.Seq, old.NextSeq)
			case s.HasTS && old.Timestamps && reassembly.SeqGT(s.TSVal, old.LastTSVal):
				text += fmt.Sprintf("; RFC 6191 accepts it: timestamp %d is above the old connection's last %d, although ISN %d is not above %d", s.TSVal, old.LastTSVal, s.Seq, old.NextSeq)
			default:
				sev = Error
				text += fmt.Sprintf("; RFC 1122 4.2.2.13 and RFC 6191 reject it: ISN %d is not above the old connection's last sequence number %d and no greater timestamp", s.Seq, old.NextSeq)
			}
		}
		a := c.note(AnomalyReuseInTimeWait, inNew(holder), s.Frame, s.Time, text)
		a.Severity = sev
		if holder != sender {
			c.reuseIndex, c.reuseHolder = len(c.Anomalies), inNew(holder)
		}
		return
	}
	if !prev.bothClosed() {
		c.note(AnomalyReuseWhileOpen, Client, s.Frame, s.Time, fmt.Sprintf("a SYN with a new ISN at frame %d on the 4-tuple of connection %d, which was still open (client %s, server %s)", s.Frame, prev.ID, prev.State[Client], prev.State[Server]))
	}
}

// answerReuse records what the TIME_WAIT holder answered to a reusing SYN.
func (c *Conn) answerReuse(s *capture.Segment) {
	a := &c.Anomalies[c.reuseIndex-1]
	c.reuseIndex = 0
	switch f := s.Flags; {
	case f.Has(capture.SYN | capture.ACK):
		a.Text += fmt.Sprintf("; the %s accepted it (SYN-ACK at frame %d)", c.reuseHolder, s.Frame)
	case f&capture.RST != 0:
		a.Text += fmt.Sprintf("; the %s answered with RST at frame %d", c.reuseHolder, s.Frame)
	case f&capture.ACK != 0:
		a.Text += fmt.Sprintf("; the %s answered with an ACK for the old connection at frame %d: it did not accept the SYN", c.reuseHolder, s.Frame)
	}
}

func endpoint(c *Conn, side Side) string {
	if side == Client {
		return c.Client.String()
	}
	return c.Server.String()
}
