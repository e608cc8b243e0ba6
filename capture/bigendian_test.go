package capture_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
)

// pcapRecord is one record of a pcap file.
type pcapRecord struct {
	sec, frac uint32 // seconds and micro- or nanoseconds
	origLen   uint32
	data      []byte
}

// parseLEPcap splits a little-endian pcap (as scenario writes it) into
// its records, without using the code under test or pcapgo.
func parseLEPcap(t testing.TB, file []byte) []pcapRecord {
	t.Helper()
	if len(file) < 24 || binary.LittleEndian.Uint32(file) != 0xa1b2c3d4 && binary.LittleEndian.Uint32(file) != 0xa1b23c4d {
		t.Fatalf("not a little-endian pcap: % x", file[:min(len(file), 4)])
	}
	var recs []pcapRecord
	for off := 24; off < len(file); {
		h := file[off : off+16]
		incl := binary.LittleEndian.Uint32(h[8:])
		recs = append(recs, pcapRecord{
			sec: binary.LittleEndian.Uint32(h), frac: binary.LittleEndian.Uint32(h[4:]),
			origLen: binary.LittleEndian.Uint32(h[12:]),
			data:    file[off+16 : off+16+int(incl)],
		})
		off += 16 + int(incl)
	}
	return recs
}

// bigEndianPcap writes a pcap file in big-endian byte order, as a SPARC or
// PowerPC tcpdump would.
func bigEndianPcap(nano bool, linkType uint32, recs []pcapRecord) []byte {
	be := binary.BigEndian
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	b := be.AppendUint32(nil, magic)
	b = be.AppendUint16(b, 2)
	b = be.AppendUint16(b, 4)
	b = be.AppendUint32(b, 0)     // thiszone
	b = be.AppendUint32(b, 0)     // sigfigs
	b = be.AppendUint32(b, 65535) // snaplen
	b = be.AppendUint32(b, linkType)
	for _, r := range recs {
		b = be.AppendUint32(b, r.sec)
		b = be.AppendUint32(b, r.frac)
		b = be.AppendUint32(b, uint32(len(r.data)))
		b = be.AppendUint32(b, r.origLen)
		b = append(b, r.data...)
	}
	return b
}

func TestBigEndianPcap(t *testing.T) {
	for _, nano := range []bool{false, true} {
		name := map[bool]string{false: "micro", true: "nano"}[nano]
		t.Run(name, func(t *testing.T) {
			b := scenario.New(scenario.Options{})
			c := b.Conn("203.0.113.5:33333", "203.0.113.6:25")
			syn := c.Send(scenario.Client, "S", 0)
			b.Advance(time.Millisecond)
			data := c.Send(scenario.Client, "PA", 77) // not a handshake, but a second record
			recs := parseLEPcap(t, mustBytes(t, b))
			if len(recs) != 2 {
				t.Fatalf("%d records in the scenario capture, want 2", len(recs))
			}
			// Hand-picked timestamps, in the file's resolution.
			recs[0].sec, recs[0].frac = 1700000000, 123456
			recs[1].sec, recs[1].frac = 1700000001, 999999
			if nano {
				recs[0].frac, recs[1].frac = 123456789, 999999999
			}
			file := bigEndianPcap(nano, 1, recs)

			unit := time.Microsecond
			if nano {
				unit = time.Nanosecond
			}
			client, server := netip.MustParseAddrPort("203.0.113.5:33333"), netip.MustParseAddrPort("203.0.113.6:25")
			want := []capture.Segment{expectSegment(t, syn, client, server), expectSegment(t, data, client, server)}
			for i := range want {
				want[i].Time = time.Unix(int64(recs[i].sec), int64(recs[i].frac)*int64(unit))
			}
			got, _, err := readAll(t, "be.pcap", file)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if diff := diffSegments(want, got); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
		})
	}
}

// bigEndianPcapng writes a pcapng section in big-endian byte order: a
// section header, one Ethernet interface with the default microsecond
// resolution, and an Enhanced Packet Block per record (timestamps from
// sec and frac as microseconds). Before the packet with index statsBefore
// it puts an Interface Statistics Block. It returns the file and where
// each packet block starts.
func bigEndianPcapng(recs []pcapRecord, statsBefore int) ([]byte, []int64) {
	be := binary.BigEndian
	block := func(b []byte, typ uint32, body []byte) []byte {
		n := uint32(12 + len(body))
		b = be.AppendUint32(b, typ)
		b = be.AppendUint32(b, n)
		b = append(b, body...)
		return be.AppendUint32(b, n)
	}
	shb := be.AppendUint32(nil, 0x1a2b3c4d)
	shb = be.AppendUint16(shb, 1)
	shb = be.AppendUint16(shb, 0)
	shb = be.AppendUint64(shb, ^uint64(0)) // section length unknown
	b := block(nil, 0x0a0d0d0a, shb)
	idb := be.AppendUint16(nil, 1) // Ethernet
	idb = be.AppendUint16(idb, 0)
	idb = be.AppendUint32(idb, 65535)
	b = block(b, 1, idb)
	var offs []int64
	for i, r := range recs {
		if i == statsBefore {
			isb := be.AppendUint32(nil, 0)
			isb = be.AppendUint64(isb, 1)
			b = block(b, 5, isb)
		}
		offs = append(offs, int64(len(b)))
		ts := uint64(r.sec)*1e6 + uint64(r.frac)
		epb := be.AppendUint32(nil, 0)
		epb = be.AppendUint32(epb, uint32(ts>>32))
		epb = be.AppendUint32(epb, uint32(ts))
		epb = be.AppendUint32(epb, uint32(len(r.data)))
		epb = be.AppendUint32(epb, r.origLen)
		epb = append(epb, r.data...)
		for len(epb)%4 != 0 {
			epb = append(epb, 0)
		}
		b = block(b, 6, epb)
	}
	return b, offs
}

func TestBigEndianPcapng(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("203.0.113.5:33333", "203.0.113.6:25")
	pkts := []scenario.Packet{c.Send(scenario.Client, "S", 0), c.Send(scenario.Server, "SA", 0), c.Send(scenario.Client, "PA", 5)}
	recs := parseLEPcap(t, mustBytes(t, b))
	for i := range recs {
		recs[i].sec, recs[i].frac = 1700000000+uint32(i), 250000*uint32(i)+7
	}
	client, server := netip.MustParseAddrPort("203.0.113.5:33333"), netip.MustParseAddrPort("203.0.113.6:25")
	var want []capture.Segment
	for i, p := range pkts {
		s := expectSegment(t, p, client, server)
		s.Time = time.Unix(int64(recs[i].sec), int64(recs[i].frac)*1000)
		want = append(want, s)
	}

	t.Run("whole", func(t *testing.T) {
		file, _ := bigEndianPcapng(recs, 1)
		got, _, err := readAll(t, "be.pcapng", file)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if diff := diffSegments(want, got); diff != "" {
			t.Errorf("segments (-want +got):\n%s", diff)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		file, offs := bigEndianPcapng(recs, 2)
		file = file[:offs[2]+20]
		got, _, err := readAll(t, "be.pcapng", file)
		if len(got) != 2 {
			t.Errorf("%d segments before the error, want 2", len(got))
		}
		var fe *capture.FormatError
		if !errors.As(err, &fe) || fe.Frame != 3 || fe.Offset != offs[2] {
			t.Errorf("error %v, want a *FormatError for frame 3 at offset %d", err, offs[2])
		}
	})
}
