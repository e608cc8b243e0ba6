package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// LinkType selects the link-layer encapsulation of the capture.
type LinkType int

// Supported link types.
const (
	Ethernet  LinkType = iota // LINKTYPE_ETHERNET (1)
	RawIP                     // LINKTYPE_RAW (101)
	LinuxSLL                  // LINKTYPE_LINUX_SLL (113)
	LinuxSLL2                 // LINKTYPE_LINUX_SLL2 (276)
	Null                      // LINKTYPE_NULL (0), BSD loopback
)

// String returns the name of the link type.
func (l LinkType) String() string {
	switch l {
	case Ethernet:
		return "Ethernet"
	case RawIP:
		return "RawIP"
	case LinuxSLL:
		return "LinuxSLL"
	case LinuxSLL2:
		return "LinuxSLL2"
	case Null:
		return "Null"
	}
	return fmt.Sprintf("LinkType(%d)", int(l))
}

// PcapLinkType returns the pcap LINKTYPE_ value written in the file header,
// and false if l is not a supported link type.
func (l LinkType) PcapLinkType() (layers.LinkType, bool) {
	switch l {
	case Ethernet:
		return layers.LinkTypeEthernet, true
	case RawIP:
		return layers.LinkTypeRaw, true
	case LinuxSLL:
		return layers.LinkTypeLinuxSLL, true
	case LinuxSLL2:
		return layers.LinkTypeLinuxSLL2, true
	case Null:
		return layers.LinkTypeNull, true
	}
	return 0, false
}

// DefaultSnaplen is the snapshot length used when Options.Snaplen is zero.
const DefaultSnaplen = 262144

// DefaultStart is the capture clock's initial value when Options.Start is
// zero.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configures a Builder. The zero value is an Ethernet pcap with
// microsecond timestamps starting at DefaultStart.
type Options struct {
	Link LinkType // default Ethernet
	// VLANs are 802.1Q tags, outer first (Ethernet only). With two or more
	// tags the outer one uses EtherType 0x88a8 (QinQ), the others 0x8100.
	VLANs []uint16
	// Nanosecond selects a nanosecond-resolution pcap. Ignored with PcapNG,
	// which always records nanoseconds.
	Nanosecond bool
	PcapNG     bool      // write pcapng (one interface) instead of pcap
	Start      time.Time // default DefaultStart
	// Snaplen is the capture's snapshot length, default DefaultSnaplen.
	// Frames longer than Snaplen are truncated in the file (CaptureLength <
	// Length), as with a header-only capture.
	Snaplen int
}

// Builder accumulates a capture file in memory. Create it with New.
type Builder struct {
	opts   Options
	buf    bytes.Buffer
	pcap   *pcapgo.Writer
	ng     *pcapgo.NgWriter
	now    time.Time
	frames int
	ipID   uint16
	err    error
}

// New returns a Builder that has already written the file header. Invalid
// options are recorded as the Builder's error (see Err) and replaced by their
// defaults.
func New(opts Options) *Builder {
	b := &Builder{}
	opts.VLANs = append([]uint16(nil), opts.VLANs...)
	if opts.Start.IsZero() {
		opts.Start = DefaultStart
	}
	if opts.Snaplen < 0 {
		b.failf("negative snaplen %d", opts.Snaplen)
		opts.Snaplen = 0
	}
	if opts.Snaplen == 0 {
		opts.Snaplen = DefaultSnaplen
	}
	lt, ok := opts.Link.PcapLinkType()
	if !ok {
		b.failf("unsupported link type %v", opts.Link)
		opts.Link, lt = Ethernet, layers.LinkTypeEthernet
	}
	if len(opts.VLANs) > 0 && opts.Link != Ethernet {
		b.failf("VLAN tags require the Ethernet link type, not %v", opts.Link)
		opts.VLANs = nil
	}
	for _, v := range opts.VLANs {
		if v > 0xfff {
			b.failf("VLAN ID %d out of range 0-4095", v)
		}
	}
	b.opts = opts
	b.now = opts.Start
	if opts.PcapNG {
		intf := pcapgo.NgInterface{
			Name:                "scenario0",
			LinkType:            lt,
			TimestampResolution: 9,
			SnapLength:          uint32(opts.Snaplen),
		}
		info := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "tcplens scenario"}}
		w, err := pcapgo.NewNgWriterInterface(&b.buf, intf, info)
		b.fail(err)
		b.ng = w
		return b
	}
	if opts.Nanosecond {
		b.pcap = pcapgo.NewWriterNanos(&b.buf)
	} else {
		b.pcap = pcapgo.NewWriter(&b.buf)
	}
	b.fail(b.pcap.WriteFileHeader(uint32(opts.Snaplen), lt))
	return b
}

// Options returns the effective options (defaults filled in).
func (b *Builder) Options() Options {
	o := b.opts
	o.VLANs = append([]uint16(nil), o.VLANs...)
	return o
}

// Advance moves the capture clock by d. A negative d moves it backwards, which
// produces out-of-order timestamps.
func (b *Builder) Advance(d time.Duration) { b.now = b.now.Add(d) }

// Now returns the capture clock.
func (b *Builder) Now() time.Time { return b.now }

// Frames returns the number of packets written so far.
func (b *Builder) Frames() int { return b.frames }

// Err returns the first error recorded by the Builder or its connections.
func (b *Builder) Err() error { return b.err }

// Bytes returns a copy of the capture file written so far.
func (b *Builder) Bytes() []byte {
	if b.ng != nil {
		b.fail(b.ng.Flush())
	}
	return bytes.Clone(b.buf.Bytes())
}

// WriteFile writes the capture to path. It returns the Builder's error if
// one was recorded (the file is written anyway), else the write error.
func (b *Builder) WriteFile(path string) error {
	werr := os.WriteFile(path, b.Bytes(), 0o644)
	if b.err != nil {
		return b.err
	}
	return werr
}

// WriteRaw appends a frame whose link-layer bytes are data, as given, at the
// current time (e.g. a UDP packet or garbage, for decoder tests). It is
// truncated to the snaplen like any other frame. Its frame number is
// Frames() after the call.
func (b *Builder) WriteRaw(data []byte) {
	b.writeFrame(data)
}

// stamp returns the current clock as the file will record it.
func (b *Builder) stamp() time.Time {
	if b.ng == nil && !b.opts.Nanosecond {
		return b.now.Truncate(time.Microsecond)
	}
	return b.now
}

// writeFrame writes one frame at the current time and returns its 1-based
// frame number and timestamp. The frame number is 0 if nothing was written.
func (b *Builder) writeFrame(data []byte) (int, time.Time) {
	ts := b.stamp()
	if s := ts.Unix(); s < 0 || s > math.MaxUint32 {
		b.failf("timestamp %v not representable in a capture file", ts)
		return 0, ts
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     ts,
		Length:        len(data),
		CaptureLength: min(len(data), b.opts.Snaplen),
	}
	data = data[:ci.CaptureLength]
	var err error
	if b.ng != nil {
		err = b.ng.WritePacket(ci, data)
	} else if b.pcap != nil {
		err = b.pcap.WritePacket(ci, data)
	} else {
		err = errors.New("no capture writer")
	}
	if err != nil {
		b.fail(err)
		return 0, ts
	}
	b.frames++
	return b.frames, ts
}

func (b *Builder) fail(err error) {
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("scenario: %w", err)
	}
}

func (b *Builder) failf(format string, args ...any) {
	b.fail(fmt.Errorf(format, args...))
}
