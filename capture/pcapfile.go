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
// copies each record into a buffer of its own. pcapgo still reads and
// checks the file header, and its limits and messages are kept: a record
// longer than the snap length, or than 256 KiB if that is larger, is an
// error, as is a captured length above the original length.
type pcapRecords struct {
	buf     *bufio.Reader
	bigEnd  bool   // a big-endian file
	nanos   uint32 // multiplies the sub-second field into nanoseconds
	snaplen uint32
	maxLen  int
	pending int    // bytes of the last record still to discard
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

// release discards the previous record, whose bytes stayed in the buffer
// until now so that the caller could use them.
func (p *pcapRecords) release() {
	if p.pending > 0 {
		p.buf.Discard(p.pending)
		p.pending = 0
	}
}

// next returns the next record's bytes, valid until release, and its
// timestamp. The caller releases the previous record first (Reader.Next
// does, before it takes the offset of this one).
func (p *pcapRecords) next() ([]byte, time.Time, error) {
	h, err := p.buf.Peek(16)
	if len(h) < 16 {
		if len(h) == 0 && err == io.EOF {
			return nil, time.Time{}, io.EOF
		}
		p.buf.Discard(len(h)) // consumed, so the error can say how much was there
		return nil, time.Time{}, cut(err)
	}
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
		rec, err := p.buf.Peek(n)
		if len(rec) < n {
			p.buf.Discard(len(rec))
			return nil, ts, cut(err)
		}
		p.pending = n
		return rec[16:n:n], ts, nil
	}
	// A record longer than the buffer: copied, growing with what the file
	// really holds, so a lying length cannot make us allocate it up front.
	p.buf.Discard(16)
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
