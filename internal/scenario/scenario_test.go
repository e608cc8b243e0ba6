package scenario_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcplens/tcplens/internal/scenario"
)

// frame is one packet read back from a capture.
type frame struct {
	ci  gopacket.CaptureInfo
	raw []byte
	pkt gopacket.Packet
}

// readCapture parses a pcap or pcapng file with pcapgo and decodes every
// packet with gopacket.
func readCapture(t *testing.T, data []byte) (layers.LinkType, []frame) {
	t.Helper()
	type reader interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
		LinkType() layers.LinkType
	}
	var r reader
	if len(data) >= 4 && binary.LittleEndian.Uint32(data) == 0x0a0d0d0a {
		ng, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("NewNgReader: %v", err)
		}
		r = ng
	} else {
		pr, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("NewReader: %v", err)
		}
		r = pr
	}
	var frames []frame
	for {
		raw, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("ReadPacketData after %d frames: %v", len(frames), err)
		}
		raw = bytes.Clone(raw)
		pkt := gopacket.NewPacket(raw, r.LinkType(), gopacket.Default)
		frames = append(frames, frame{ci: ci, raw: raw, pkt: pkt})
	}
	return r.LinkType(), frames
}

func tcpOf(t *testing.T, f frame) *layers.TCP {
	t.Helper()
	tcp, ok := f.pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		t.Fatalf("no TCP layer in %v", f.pkt)
	}
	return tcp
}

// seg summarizes a TCP segment for comparisons.
type seg struct {
	Src, Dst uint16
	Flags    string
	Seq, Ack uint32
	Win      uint16
	Len      int
}

func flagString(tcp *layers.TCP) string {
	s := ""
	for _, f := range []struct {
		on bool
		c  string
	}{{tcp.SYN, "S"}, {tcp.ACK, "A"}, {tcp.FIN, "F"}, {tcp.RST, "R"}, {tcp.PSH, "P"}, {tcp.URG, "U"}, {tcp.ECE, "E"}, {tcp.CWR, "C"}} {
		if f.on {
			s += f.c
		}
	}
	return s
}

func segOf(tcp *layers.TCP) seg {
	return seg{uint16(tcp.SrcPort), uint16(tcp.DstPort), flagString(tcp), tcp.Seq, tcp.Ack, tcp.Window, len(tcp.Payload)}
}

func mustOK(t *testing.T, b *scenario.Builder) {
	t.Helper()
	if err := b.Err(); err != nil {
		t.Fatalf("builder error: %v", err)
	}
}

func TestHandshakeDataFin(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
	hs := c.Handshake()
	var sent []scenario.Packet
	sent = append(sent, hs[:]...)
	b.Advance(time.Millisecond)
	sent = append(sent,
		c.Send(scenario.Client, "PA", 100),
		c.Send(scenario.Server, "A", 0),
		c.Send(scenario.Server, "AP", 50),
		c.Send(scenario.Client, "FA", 0),
		c.Send(scenario.Server, "FA", 0),
		c.Send(scenario.Client, "A", 0),
	)
	mustOK(t, b)

	const cp, sp = 40000, 80
	want := []seg{
		{cp, sp, "S", 1000, 0, 65535, 0},
		{sp, cp, "SA", 5000, 1001, 65535, 0},
		{cp, sp, "A", 1001, 5001, 65535, 0},
		{cp, sp, "AP", 1001, 5001, 65535, 100},
		{sp, cp, "A", 5001, 1101, 65535, 0},
		{sp, cp, "AP", 5001, 1101, 65535, 50},
		{cp, sp, "AF", 1101, 5051, 65535, 0},
		{sp, cp, "AF", 5051, 1102, 65535, 0},
		{cp, sp, "A", 1102, 5052, 65535, 0},
	}
	if got, want := b.Frames(), len(want); got != want {
		t.Fatalf("Frames() = %d, want %d", got, want)
	}
	if got, want := c.Next(scenario.Client), uint32(1102); got != want {
		t.Errorf("Next(Client) = %d, want %d", got, want)
	}
	if got, want := c.Next(scenario.Server), uint32(5052); got != want {
		t.Errorf("Next(Server) = %d, want %d", got, want)
	}

	lt, frames := readCapture(t, b.Bytes())
	if lt != layers.LinkTypeEthernet {
		t.Errorf("link type %v, want Ethernet", lt)
	}
	var got []seg
	for i, f := range frames {
		tcp := tcpOf(t, f)
		got = append(got, segOf(tcp))
		p := sent[i]
		if p.Frame != i+1 {
			t.Errorf("packet %d: Frame = %d, want %d", i, p.Frame, i+1)
		}
		if p.Seq != tcp.Seq || p.Ack != tcp.Ack || p.Payload != len(tcp.Payload) {
			t.Errorf("frame %d: returned %+v does not match capture %+v", i+1, p, segOf(tcp))
		}
		for j, c := range tcp.Payload {
			if want := byte(tcp.Seq + uint32(j)); c != want {
				t.Fatalf("frame %d payload[%d] = %d, want %d", i+1, j, c, want)
			}
		}
		checkChecksums(t, f)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}

	// Timestamps: the clock only moves on Advance.
	for i, f := range frames {
		want := scenario.DefaultStart
		if i >= 3 {
			want = want.Add(time.Millisecond)
		}
		if !f.ci.Timestamp.Equal(want) || !sent[i].Time.Equal(want) {
			t.Errorf("frame %d time %v (Packet.Time %v), want %v", i+1, f.ci.Timestamp, sent[i].Time, want)
		}
	}
}

func TestLinkAndIPHeaders(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
	c.Handshake()
	mustOK(t, b)
	_, frames := readCapture(t, b.Bytes())
	for i, f := range frames {
		eth := f.pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		src, dst := scenario.Client.MAC(), scenario.Server.MAC()
		if i == 1 {
			src, dst = dst, src
		}
		if eth.SrcMAC.String() != src.String() || eth.DstMAC.String() != dst.String() {
			t.Errorf("frame %d: MACs %v -> %v, want %v -> %v", i+1, eth.SrcMAC, eth.DstMAC, src, dst)
		}
		ip := f.pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip.TTL != 64 || ip.Flags != layers.IPv4DontFragment || ip.Id != uint16(i+1) {
			t.Errorf("frame %d: TTL %d flags %v id %d", i+1, ip.TTL, ip.Flags, ip.Id)
		}
		// SYNs carry 12 option bytes; the bare ACK (54 bytes) is padded.
		wantLen := 66
		if i == 2 {
			wantLen = 60
		}
		if len(f.raw) != wantLen || f.ci.Length != wantLen {
			t.Errorf("frame %d: %d bytes (Length %d), want %d", i+1, len(f.raw), f.ci.Length, wantLen)
		}
	}
	if got := scenario.Client.MAC().String(); got != "02:00:00:00:00:01" {
		t.Errorf("client MAC %s", got)
	}
	if scenario.Client.Peer() != scenario.Server || scenario.Server.Peer() != scenario.Client {
		t.Error("Peer is not an involution")
	}
}

func TestSYNOptions(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:1", "10.0.0.2:2",
		scenario.ISN(7, 0xfffffff0), scenario.Window(1024, 2048),
		scenario.SYNOptions(scenario.Server, 0, scenario.NoWScale, false))
	hs := c.Handshake()
	mustOK(t, b)
	if hs[0].MSS != 1460 || hs[0].WScale != 7 || !hs[0].SACKPerm {
		t.Errorf("SYN options %+v", hs[0])
	}
	if hs[1].MSS != 0 || hs[1].WScale != scenario.NoWScale || hs[1].SACKPerm {
		t.Errorf("SYN-ACK options %+v", hs[1])
	}
	if hs[2].WScale != scenario.NoWScale || hs[2].MSS != 0 {
		t.Errorf("ACK options %+v", hs[2])
	}
	_, frames := readCapture(t, b.Bytes())
	opts := optionKinds(tcpOf(t, frames[0]))
	if diff := cmp.Diff([]string{"MSS=1460", "NOP", "NOP", "SACKPermitted", "NOP", "WindowScale=7"}, opts); diff != "" {
		t.Errorf("SYN options (-want +got):\n%s", diff)
	}
	for _, f := range frames[1:] {
		if o := optionKinds(tcpOf(t, f)); len(o) != 0 {
			t.Errorf("frame options %v, want none", o)
		}
	}
	got := []seg{segOf(tcpOf(t, frames[0])), segOf(tcpOf(t, frames[1])), segOf(tcpOf(t, frames[2]))}
	want := []seg{
		{1, 2, "S", 7, 0, 1024, 0},
		{2, 1, "SA", 0xfffffff0, 8, 2048, 0},
		{1, 2, "A", 8, 0xfffffff1, 1024, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	// Sequence numbers wrap around.
	c.Send(scenario.Server, "PA", 20)
	if got := c.Next(scenario.Server); got != 5 {
		t.Errorf("Next(Server) after wrap = %d, want 5", got)
	}
}
