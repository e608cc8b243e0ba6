package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapRecords reads the records of a pcap file straight out of the Reader's
// buffer: no copy and no allocation per packet, where pcapgo's reader
// copies each record into a buffer of its own. It takes records from a
// window of what the buffer holds, and tells the buffer what it used only
// when it needs more (a Peek and a Discard per buffer's worth, not per
// record). pcapgo still reads and checks the file header, and its limits
// and messages are kept: a record longer than the snap length, or than
// 256 KiB if that is larger, is an error, as is a captured length above
// the original length.
type pcapRecords struct {
	buf     *bufio.Reader
	bigEnd  bool   // a big-endian file
	nanos   uint32 // multiplies the sub-second field into nanoseconds
	snaplen uint32
	maxLen  int
	win     []byte // what buf holds, from the last Peek
	used    int    // bytes of win returned as records: read, not yet discarded from buf
	big     []byte // records longer than the buffer
}

// eagerReadMax is pcapgo's floor for the longest record it reads.
const eagerReadMax = 262144

func newPcapRecords(buf *bufio.Reader, magic uint32, hdr *pcapgo.Reader) *pcapRecords {
	p := &pcapRecords{buf: buf, nanos: 1, snaplen: hdr.Snaplen()}
	switch magic {
	case 0xd4c3b2a1, 0x4d3cb2a1: // the magic read little-endian: a big-endian file
		p.bigEnd = true
	}
	if hdr.Resolution() == gopacket.TimestampResolutionMicrosecond {
		p.nanos = 1000
	}
	p.maxLen = max(int(p.snaplen), eagerReadMax)
	return p
}

// unread is how many bytes buf holds that were returned already: the
// Reader's offset is that much further on than buf says.
func (p *pcapRecords) unread() int { return p.used }

// window makes win hold at least n bytes past used, discarding what was
// used first; fewer if the file ends first, with the reason.
func (p *pcapRecords) window(n int) error {
	p.buf.Discard(p.used)
	p.used = 0
	w, err := p.buf.Peek(n)
	if len(w) < n {
		p.win = w
		return err
	}
	p.win, _ = p.buf.Peek(p.buf.Buffered()) // all of it: no error once n fit
	return nil
}

// next returns the next record's bytes, valid until the next call, and
// its timestamp.
func (p *pcapRecords) next() ([]byte, time.Time, error) {
	if len(p.win)-p.used < 16 {
		if err := p.window(16); err != nil {
			if len(p.win) == 0 && err == io.EOF {
				return nil, time.Time{}, io.EOF
			}
			p.buf.Discard(len(p.win)) // consumed, so the error can say how much was there
			p.win = nil
			return nil, time.Time{}, cut(err)
		}
	}
	h := p.win[p.used : p.used+16]
	// As pcapgo: the sub-second field is multiplied in 32 bits.
	sec, frac, caplen, length := binary.LittleEndian.Uint32(h[0:4]), binary.LittleEndian.Uint32(h[4:8]), binary.LittleEndian.Uint32(h[8:12]), binary.LittleEndian.Uint32(h[12:16])
	if p.bigEnd {
		sec, frac, caplen, length = binary.BigEndian.Uint32(h[0:4]), binary.BigEndian.Uint32(h[4:8]), binary.BigEndian.Uint32(h[8:12]), binary.BigEndian.Uint32(h[12:16])
	}
	ts := time.Unix(int64(sec), int64(frac*p.nanos)).UTC()
	capLen, origLen := int(caplen), int(length)
	if capLen < 0 || capLen > p.maxLen {
		return nil, ts, fmt.Errorf("capture length exceeds snap length: %d > %d", capLen, p.snaplen)
	}
	if capLen > origLen {
		return nil, ts, fmt.Errorf("capture length exceeds original packet length: %d > %d", capLen, origLen)
	}
	n := 16 + capLen
	if n <= p.buf.Size() {
		if len(p.win)-p.used < n {
			if err := p.window(n); err != nil {
				p.buf.Discard(len(p.win))
				p.win = nil
				return nil, ts, cut(err)
			}
		}
		rec := p.win[p.used+16 : p.used+n : p.used+n]
		p.used += n
		return rec, ts, nil
	}
	// A record longer than the buffer: copied, growing with what the file
	// really holds, so a lying length cannot make us allocate it up front.
	p.buf.Discard(p.used + 16)
	p.win, p.used = nil, 0
	p.big = p.big[:0]
	for left := capLen; left > 0; {
		chunk := min(left, p.buf.Size())
		at := len(p.big)
		p.big = slices.Grow(p.big, chunk)[:at+chunk]
		if _, err := io.ReadFull(p.buf, p.big[at:]); err != nil {
			return nil, ts, cut(err)
		}
		left -= chunk
	}
	return p.big, ts, nil
}

// cut says that the file ended inside a record: io.EOF there is
// io.ErrUnexpectedEOF.
func cut(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
