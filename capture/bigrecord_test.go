package capture_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/capture"
)

// pcapWith returns a little-endian pcap file of the given snap length
// holding one record per frame.
func pcapWith(snaplen uint32, frames ...[]byte) []byte {
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], snaplen)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	b.Write(hdr)
	for i, f := range frames {
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(1700000000+i))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f)))
		b.Write(rec)
		b.Write(f)
	}
	return b.Bytes()
}

// synFrame is an Ethernet/IPv4/TCP SYN from port sport, padded to n bytes
// (a frame trailer as far as IP is concerned).
func synFrame(sport uint16, n int) []byte {
	f := make([]byte, max(n, 54))
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[9] = 0x45, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[20:], sport)
	binary.BigEndian.PutUint16(ip[22:], 80)
	ip[32], ip[33] = 5<<4, 0x02
	return f
}

// Records longer than the reader's 1 MiB buffer are read too (a snap
// length that allows them), and the records after them are intact.
func TestRecordLongerThanBuffer(t *testing.T) {
	file := pcapWith(4<<20, synFrame(1000, 54), synFrame(1001, 3<<20), synFrame(1002, 54))
	segs, r, err := readAll(t, "big.pcap", file)
	if err != nil {
		t.Fatal(err)
	}
	var ports []uint16
	for _, seg := range segs {
		ports = append(ports, seg.Src.Port())
	}
	if len(ports) != 3 || ports[0] != 1000 || ports[1] != 1001 || ports[2] != 1002 {
		t.Errorf("source ports %v, want [1000 1001 1002]", ports)
	}
	if r.Stats.Bytes != 54+3<<20+54 {
		t.Errorf("Stats.Bytes %d", r.Stats.Bytes)
	}

	// The same file cut inside the long record: an error naming frame 2
	// and how much of it is there, after frame 1 was read.
	cut := file[:24+16+54+16+1<<20+100]
	r, err = capture.NewReader("big.pcap", bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	var seg capture.Segment
	if err := r.Next(&seg); err != nil {
		t.Fatal(err)
	}
	err = r.Next(&seg)
	var fe *capture.FormatError
	if !errors.As(err, &fe) || fe.Frame != 2 || fe.Offset != 24+16+54 || !strings.Contains(err.Error(), "the capture is truncated") {
		t.Errorf("cut long record: %v", err)
	}
}

// A record longer than the snap length (or 256 KiB, if larger) is refused
// as pcapgo refuses it.
func TestRecordLongerThanSnapLength(t *testing.T) {
	file := pcapWith(65535, synFrame(1000, 300<<10))
	r, err := capture.NewReader("snap.pcap", bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var seg capture.Segment
	err = r.Next(&seg)
	if err == nil || !strings.Contains(err.Error(), "capture length exceeds snap length: 307200 > 65535") || !strings.Contains(err.Error(), "frame 1") {
		t.Errorf("error %v", err)
	}
}
