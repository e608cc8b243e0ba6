package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// readBuffer is the size of the buffered reader under the pcap readers.
// pcapgo.NewReader reads the file header through bufio.NewReader of what
// it is given, which hands back our reader itself only while it is at
// least bufio's default 4,096 bytes: a smaller one would be wrapped, and
// records read ahead into the wrapper lost to pcapRecords.
const readBuffer = 1 << 20

var _ [readBuffer - 4096]struct{} // fails to compile if readBuffer < 4096

// maxProblems is how many malformed packets a Reader remembers in detail.
const maxProblems = 10

// ErrNotCapture is wrapped by the error for input that is neither pcap nor
// pcapng.
var ErrNotCapture = errors.New("not a packet capture")

// FormatError is an error in the structure of a capture file.
type FormatError struct {
	File   string
	Frame  int64 // the frame being read (1-based); 0 for the file header
	Offset int64 // byte offset where that frame's record starts
	Err    error
}

func (e *FormatError) Error() string {
	where := "file header"
	if e.Frame > 0 {
		where = fmt.Sprintf("frame %d", e.Frame)
	}
	return fmt.Sprintf("%s: %s at byte offset %d: %v", e.File, where, e.Offset, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

// Problem describes a packet that was counted as malformed.
type Problem struct {
	Frame  int64
	Offset int64
	Err    error
}

// packetSource is what pcapgo's pcap and pcapng readers have in common.
type packetSource interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Reader reads TCP segments from one capture file.
type Reader struct {
	name   string
	closer io.Closer
	size   int64           // of the file read, if it is a regular one (Size)
	count  *countingReader // the stream the pcap readers see (decompressed)
	raw    *countingReader // the file's bytes
	buf    *bufio.Reader
	src    packetSource    // a pcapng file's packets; nil for a pcap file
	pcap   *pcapRecords    // a pcap file's records
	link   layers.LinkType // of a pcap file; pcapng packets carry their own
	ngBig  bool            // the current pcapng section is big-endian
	gzip   bool
	dec    *Decoder

	frame    int64
	Stats    Stats
	Problems []Problem // the first malformed packets, with why

	firstTCP time.Time // see FirstTCP
	sawTCP   bool      // firstTCP is set (a zero time is a valid capture time)
	scratch  Segment   // decodes frames Filter rejected, until the first TCP one

	// Filter, when set, is asked about every frame before it is decoded;
	// frames it rejects are counted in Stats.Filtered and nothing else.
	Filter func(data []byte, link layers.LinkType) bool
}

// Open opens a capture file; "-" reads standard input.
func Open(name string) (*Reader, error) {
	if name == "-" {
		return NewReader("<stdin>", os.Stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(name, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// FirstTCP returns the time of the file's first frame that holds a TCP
// segment, whether or not Filter selected it (a time column counts from
// it, as Wireshark's counts from the first frame whatever its display
// filter shows); the zero time until Next has returned a segment.
func (r *Reader) FirstTCP() time.Time { return r.firstTCP }

// Size returns the size of the file read, if it is a regular file (also
// standard input redirected from one; for a gzipped capture, the
// compressed size, as BytesRead counts), else 0: a pipe, a FIFO or a
// device, which may still be being written.
func (r *Reader) Size() int64 { return r.size }

// NewReader reads a capture from r; name is used in errors. The format is
// sniffed from the magic number, never from the name.
func NewReader(name string, r io.Reader) (*Reader, error) {
	rd := &Reader{name: name, dec: NewDecoder()}
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			rd.size = fi.Size()
		}
	}
	rd.count = &countingReader{r: r}
	rd.raw = rd.count
	rd.buf = bufio.NewReaderSize(rd.count, readBuffer)
	magic, err := rd.buf.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, gzErr := gzip.NewReader(rd.buf)
		if gzErr != nil {
			return nil, rd.errorf(0, 0, "bad gzip stream: %w", gzErr)
		}
		rd.gzip = true
		rd.count = &countingReader{r: gz}
		rd.buf = bufio.NewReaderSize(rd.count, readBuffer)
		magic, err = rd.buf.Peek(4)
	}
	if len(magic) < 4 {
		if err == nil || err == io.EOF {
			return nil, rd.errorf(0, 0, "%w: file has %d bytes, too short for any capture header", ErrNotCapture, len(magic))
		}
		return nil, rd.errorf(0, 0, "%w", err)
	}
	switch m := binary.LittleEndian.Uint32(magic); m {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		p, err := pcapgo.NewReader(rd.buf)
		if err != nil {
			return nil, rd.errorf(0, 0, "bad pcap file header: %w", err)
		}
		rd.pcap = newPcapRecords(rd.buf, m, p)
		rd.link = p.LinkType()
	case 0x0a0d0d0a:
		rd.ngPacketStart(0) // learn the section's byte order
		p, err := pcapgo.NewNgReader(rd.buf, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, rd.errorf(0, 0, "bad pcapng section header: %w", err)
		}
		rd.src = p
	default:
		return nil, rd.errorf(0, 0, "%w: it starts with % x; tcplens reads pcap and pcapng files, optionally gzip-compressed", ErrNotCapture, magic)
	}
	return rd, nil
}

// Name returns the name the Reader was opened with.
func (r *Reader) Name() string { return r.name }

// BytesRead returns how many bytes of the file (compressed, for a gzipped
// capture) have been read so far, buffering included.
func (r *Reader) BytesRead() int64 { return r.raw.n }

// Close closes the underlying file, if the Reader opened it.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// offset is the position of the next unread byte of the (decompressed)
// stream: what the counting reader delivered less what is still buffered
// and not yet returned as a record.
func (r *Reader) offset() int64 {
	off := r.count.n - int64(r.buf.Buffered())
	if r.pcap != nil {
		off += int64(r.pcap.unread())
	}
	return off
}

func (r *Reader) errorf(frame, off int64, format string, args ...any) error {
	return &FormatError{File: r.name, Frame: frame, Offset: off, Err: fmt.Errorf(format, args...)}
}

// Next reads until the next TCP segment and decodes it into seg. Packets
// that are not tracked are counted in Stats on the way. It returns io.EOF at
// the end of the file and a *FormatError if the file is damaged; segments
// read before the damage stay valid.
func (r *Reader) Next(seg *Segment) error {
	for {
		off := r.offset()
		if r.src != nil {
			off = r.ngPacketStart(off)
		}
		var data []byte
		var ci gopacket.CaptureInfo
		var err error
		if r.pcap != nil {
			data, ci.Timestamp, err = r.pcap.next()
		} else {
			data, ci, err = r.src.ZeroCopyReadPacketData()
		}
		if err != nil {
			return r.readError(off, err)
		}
		r.frame++
		r.Stats.Packets++
		r.Stats.Bytes += int64(len(data))
		link := r.link
		if r.src != nil && len(ci.AncillaryData) > 0 {
			link, _ = ci.AncillaryData[0].(layers.LinkType)
		}
		if r.Filter != nil && !r.Filter(data, link) {
			r.Stats.Filtered++
			// Times count from the file's first TCP segment, filter or
			// not: decoded only until it is found.
			if !r.sawTCP && r.dec.Decode(data, link, &r.scratch) == ReasonNone {
				r.sawTCP, r.firstTCP = true, ci.Timestamp
			}
			continue
		}
		reason := r.dec.Decode(data, link, seg)
		r.Stats.ByReason[reason]++
		switch reason {
		case ReasonNone:
			seg.Frame, seg.Time, seg.Interface = r.frame, ci.Timestamp, ci.InterfaceIndex
			if !r.sawTCP {
				r.sawTCP, r.firstTCP = true, ci.Timestamp
			}
			return nil
		case ReasonMalformed, ReasonMalformedTCP:
			if len(r.Problems) < maxProblems {
				r.Problems = append(r.Problems, Problem{Frame: r.frame, Offset: off, Err: r.dec.Err})
			}
		case ReasonLinkType:
			if r.Stats.LinkTypes == nil {
				r.Stats.LinkTypes = make(map[int]int64)
			}
			r.Stats.LinkTypes[int(link)]++
		}
	}
}

func (r *Reader) readError(off int64, err error) error {
	frame := r.frame + 1
	switch {
	case err == io.EOF: // both readers say EOF only between records
		return io.EOF
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("the file ends in the middle of this record (%d bytes of it present): the capture is truncated", r.offset()-off)
	}
	if r.gzip {
		err = fmt.Errorf("%w (offset in the decompressed stream)", err)
	}
	return &FormatError{File: r.name, Frame: frame, Offset: off, Err: err}
}

// ngPacketStart returns where the next packet block starts, given that the
// unread bytes start at off: pcapgo first consumes any section header,
// interface, statistics or other blocks, so their headers are peeked at
// (without consuming them) to skip their lengths.
func (r *Reader) ngPacketStart(off int64) int64 {
	skip := 0
	for skip <= readBuffer-12 {
		h, err := r.buf.Peek(skip + 12)
		if err != nil {
			break
		}
		h = h[skip:]
		if binary.LittleEndian.Uint32(h) == 0x0a0d0d0a { // section header
			r.ngBig = binary.BigEndian.Uint32(h[8:]) == 0x1a2b3c4d
		}
		typ, length := binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:])
		if r.ngBig {
			typ, length = binary.BigEndian.Uint32(h), binary.BigEndian.Uint32(h[4:])
		}
		switch typ {
		case 2, 3, 6: // packet, simple packet, enhanced packet blocks
			return off + int64(skip)
		}
		if length < 12 || length%4 != 0 {
			break
		}
		skip += int(length)
	}
	return off + int64(skip)
}

// LinkTypeName names a link type for messages.
func LinkTypeName(lt int) string {
	if s := layers.LinkType(lt).String(); s != "" && s != "UnknownLinkType" {
		return fmt.Sprintf("%d (%s)", lt, s)
	}
	return fmt.Sprint(lt)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
