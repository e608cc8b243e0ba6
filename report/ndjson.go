package report

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tcplens/tcplens/tracker"
)

// AppendConn appends the record of connection c, read from file, as one
// line of JSON: the same bytes that encoding/json writes for
// NewRecord(file, c), without building the Record or using reflection.
// NDJSON output of millions of connections spends its time here.
func AppendConn(b []byte, file string, c *tracker.Conn) []byte {
	b = appendConnHead(b, file)
	b = strconv.AppendUint(b, c.ID, 10)
	return AppendConnTail(b, c)
}

// appendConnHead appends what comes before the id in a record of file.
func appendConnHead(b []byte, file string) []byte {
	b = append(b, `{"schema":"`+SchemaVersion+`","file":`...)
	b = appendString(b, file)
	return append(b, `,"id":`...)
}

// AppendConnTail appends what AppendConn writes after the connection's
// id, which is all that depends on the connection but its id: a Sharded
// tracker's workers format it (see tracker.Config.Prepare) before the
// ids are known.
func AppendConnTail(b []byte, c *tracker.Conn) []byte {
	o := c.Outcome()
	var tc timeCache
	b = append(b, `,"incarnation":`...)
	b = strconv.AppendInt(b, int64(c.Incarnation), 10)
	b = append(b, `,"client":"`...)
	b = c.Client.AppendTo(b)
	b = append(b, `","server":"`...)
	b = c.Server.AppendTo(b)
	b = append(b, '"')
	if c.Key.VLAN != [2]uint16{} {
		b = append(b, `,"vlan":[`...)
		first := true
		for _, v := range c.Key.VLAN {
			if v != 0 {
				if !first {
					b = append(b, ',')
				}
				first = false
				b = strconv.AppendUint(b, uint64(v), 10)
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"role_guessed":`...)
	b = strconv.AppendBool(b, c.RoleGuessed)
	b = append(b, `,"partial":`...)
	b = strconv.AppendBool(b, c.Partial)
	b = append(b, `,"start":`...)
	b = tc.appendTime(b, c.Start)
	b = append(b, `,"end":`...)
	b = tc.appendTime(b, c.Last)
	b = append(b, `,"duration_s":`...)
	b = appendFloat(b, c.Duration().Seconds())
	b = append(b, `,"first_frame":`...)
	b = strconv.AppendInt(b, c.FirstFrame, 10)
	b = append(b, `,"last_frame":`...)
	b = strconv.AppendInt(b, c.LastFrame, 10)
	for side, name := range [2]string{`,"client_to_server":{"packets":`, `,"server_to_client":{"packets":`} {
		d := &c.Dir[side]
		b = append(b, name...)
		b = strconv.AppendInt(b, d.Packets, 10)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, d.Bytes, 10)
		b = append(b, '}')
	}
	for side, name := range [2]string{`,"client_states":[`, `,"server_states":[`} {
		b = append(b, name...)
		b = append(b, quotedStates[c.Initial[side]]...)
		for i := range c.Transitions {
			if t := &c.Transitions[i]; t.Side == tracker.Side(side) {
				b = append(b, ',')
				b = append(b, quotedStates[t.To]...)
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"outcome":`...)
	b = appendString(b, o.ID)
	b = append(b, `,"outcome_text":`...)
	b = appendString(b, o.Text)
	if c.IgnoredRSTs != 0 {
		b = append(b, `,"ignored_rsts":`...)
		b = strconv.AppendInt(b, int64(c.IgnoredRSTs), 10)
	}
	if c.CaptureLoss {
		b = append(b, `,"capture_loss":true`...)
	}
	b = append(b, `,"anomalies":[`...)
	for i := range c.Anomalies {
		a := &c.Anomalies[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, a.ID)
		b = append(b, `,"severity":`...)
		b = appendQuoted(b, a.Severity.String())
		b = append(b, `,"side":`...)
		b = appendQuoted(b, a.Side.String())
		b = append(b, `,"frame":`...)
		b = strconv.AppendInt(b, a.Frame, 10)
		b = append(b, `,"time":`...)
		b = tc.appendTime(b, a.Time)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(a.Count), 10)
		b = append(b, `,"text":`...)
		b = appendString(b, a.Text)
		b = append(b, '}')
	}
	b = append(b, `],"transitions":[`...)
	for i := range c.Transitions {
		t := &c.Transitions[i]
		if i > 0 {
			b = append(b, ',')
		}
		if t.From < 16 && t.To < 16 && t.Side < 2 {
			b = append(b, transitionHeads[t.Side][t.From][t.To]...)
		} else {
			b = append(b, `{"side":"`+t.Side.String()+`","from":`...)
			b = append(b, quotedStates[t.From]...)
			b = append(b, `,"to":`...)
			b = append(b, quotedStates[t.To]...)
			b = append(b, `,"frame":`...)
		}
		b = strconv.AppendInt(b, t.Frame, 10)
		b = append(b, `,"time":`...)
		b = tc.appendOffset(b, c.Start, t.Offset)
		b = append(b, ruleTails[t.Rule]...)
	}
	return append(b, "]}\n"...)
}

// quotedStates holds every State value's name in quotes, transitionHeads
// what a transition's JSON says before its frame number for every side,
// from and to, and ruleTails what it says after its time for every Rule:
// a record's transitions are most of it, and appending these whole is a
// third quicker than appending their pieces.
var (
	quotedStates    [256]string
	transitionHeads [2][16][16]string // State values are below 16
	ruleTails       [256]string
)

func init() {
	for s := range 256 {
		quotedStates[s] = `"` + tracker.State(s).String() + `"`
		ruleTails[s] = `,"rule":"` + tracker.Rule(s).String() + `"}`
	}
	for side := range 2 {
		for from := range 16 {
			for to := range 16 {
				transitionHeads[side][from][to] = `{"side":"` + tracker.Side(side).String() + `","from":` + quotedStates[from] + `,"to":` + quotedStates[to] + `,"frame":`
			}
		}
	}
}

// appendQuoted appends s, which needs no escaping (state, rule and
// severity names), in quotes.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime appends t as encoding/json does (RFC 3339 with nanoseconds).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = appendRFC3339Nano(b, t)
	return append(b, '"')
}

// timeCache remembers the date and time of day, to the second, of the last
// UTC time a record formatted: most of a connection's times fall in one
// second, and then only the fraction is formatted anew.
type timeCache struct {
	sec  int64
	text [19]byte // "2006-01-02T15:04:05"
	ok   bool
}

// appendOffset appends the time d after start, as appendTime does, without
// building it: a record's transitions keep their times as offsets from
// its start, and most fall in the second the cache holds.
func (tc *timeCache) appendOffset(b []byte, start time.Time, d time.Duration) []byte {
	if !tc.ok || start.Location() != time.UTC {
		return tc.appendTime(b, start.Add(d))
	}
	ns := int64(start.Nanosecond()) + int64(d)%1e9
	sec := start.Unix() + int64(d)/1e9
	switch {
	case ns >= 1e9:
		sec, ns = sec+1, ns-1e9
	case ns < 0:
		sec, ns = sec-1, ns+1e9
	}
	if sec != tc.sec {
		return tc.appendTime(b, start.Add(d))
	}
	return tc.appendCached(b, int(ns))
}

// appendTime is appendTime through the cache.
func (tc *timeCache) appendTime(b []byte, t time.Time) []byte {
	if t.Location() != time.UTC {
		return appendTime(b, t)
	}
	sec := t.Unix()
	if !tc.ok || sec != tc.sec {
		text, ok := dateTime(t)
		if !ok {
			tc.ok = false
			return appendTime(b, t)
		}
		tc.sec, tc.text, tc.ok = sec, text, true
	}
	return tc.appendCached(b, t.Nanosecond())
}

// appendCached appends the time of the second the cache holds and ns
// nanoseconds.
func (tc *timeCache) appendCached(b []byte, ns int) []byte {
	b = append(b, '"')
	b = append(b, tc.text[:]...)
	b = appendFraction(b, ns)
	return append(b, 'Z', '"')
}

// appendRFC3339Nano is t.AppendFormat(b, time.RFC3339Nano) written out for
// UTC times of years 0 to 9999, every capture's: the general formatter
// was a twentieth of a run's time. Other times take the general path.
func appendRFC3339Nano(b []byte, t time.Time) []byte {
	text, ok := dateTime(t)
	if t.Location() != time.UTC || !ok {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, text[:]...)
	b = appendFraction(b, t.Nanosecond())
	return append(b, 'Z')
}

// dateTime returns "2006-01-02T15:04:05" for t, if its year is 0 to 9999.
func dateTime(t time.Time) ([19]byte, bool) {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return [19]byte{}, false
	}
	hour, minute, sec := t.Clock()
	return [19]byte{byte('0' + year/1000), byte('0' + year/100%10), byte('0' + year/10%10), byte('0' + year%10), '-',
		byte('0' + month/10), byte('0' + month%10), '-', byte('0' + day/10), byte('0' + day%10), 'T',
		byte('0' + hour/10), byte('0' + hour%10), ':', byte('0' + minute/10), byte('0' + minute%10), ':',
		byte('0' + sec/10), byte('0' + sec%10)}, true
}

// digitPairs holds "00" to "99".
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// appendFraction appends ".123" for 123 ms, nothing for 0, as RFC3339Nano
// does: trailing zeros dropped.
func appendFraction(b []byte, ns int) []byte {
	if ns <= 0 || ns >= 1e9 {
		return b // 0, or not a time's nanoseconds
	}
	v := uint32(ns)
	n := len(b)
	b = slices.Grow(b, 10)[:n+10]
	frac := b[n : n+10 : n+10]
	frac[0] = '.'
	frac[9] = byte('0' + v%10)
	v /= 10
	for i := 8; i >= 2; i -= 2 { // two digits at a time
		d := v % 100 * 2
		frac[i-1], frac[i] = digitPairs[d], digitPairs[d+1]
		v /= 100
	}
	end := 10
	for frac[end-1] == '0' {
		end--
	}
	return b[:n+end]
}

// appendFloat appends f as encoding/json does for a float64.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, '0') // encoding/json fails; durations are finite
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// plainJSON says which ASCII bytes encoding/json writes as they are:
// not control characters, quotes, backslashes or its HTML-escaped <, >, &.
var plainJSON = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string exactly as encoding/json does
// with its default HTML escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if plainJSON[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// WriteConn writes connection c's record, read from file, as one line.
func (n *NDJSON) WriteConn(file string, c *tracker.Conn) error {
	n.buf = AppendConn(n.buf[:0], file, c)
	_, err := n.w.Write(n.buf)
	return err
}

// WritePrepared writes the record of c like WriteConn, from the tail in
// c.Prepared that PrepareConn made, if there is one. The tail is written
// as it is, not copied next to its head first: the output is mostly tails.
func (n *NDJSON) WritePrepared(file string, c *tracker.Conn) error {
	if c.Prepared == nil {
		return n.WriteConn(file, c)
	}
	n.buf = n.heads.appendHead(n.buf[:0], file, c.ID)
	if _, err := n.w.Write(n.buf); err != nil {
		return err
	}
	_, err := n.w.Write(c.Prepared)
	return err
}

// Heads appends records from the tails PrepareConn made, keeping the head
// of the last file's records.
type Heads struct {
	head []byte
	file string
}

// AppendPrepared appends the record of c, as AppendConn does, from the
// tail in c.Prepared if PrepareConn made one.
func (h *Heads) AppendPrepared(b []byte, file string, c *tracker.Conn) []byte {
	if c.Prepared == nil {
		return AppendConn(b, file, c)
	}
	b = h.appendHead(b, file, c.ID)
	return append(b, c.Prepared...)
}

// appendHead appends what a record of file says before its tail.
func (h *Heads) appendHead(b []byte, file string, id uint64) []byte {
	if h.file != file || h.head == nil {
		h.head, h.file = appendConnHead(h.head[:0], file), file
	}
	b = append(b, h.head...)
	return strconv.AppendUint(b, id, 10)
}

// PrepareConn is a tracker.Config.Prepare that formats the record's tail,
// for WritePrepared.
func PrepareConn(b []byte, c *tracker.Conn) []byte { return AppendConnTail(b, c) }
