package scenario_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/scenario"
)

func TestDropAdvancesButIsNotWritten(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
	c.Handshake()
	d := c.Drop(scenario.Client, "PA", 200)
	if d.Frame != 0 || d.Seq != 1001 || d.Ack != 5001 || d.Payload != 200 {
		t.Errorf("Drop returned %+v", d)
	}
	if b.Frames() != 3 {
		t.Errorf("Frames() = %d after Drop, want 3", b.Frames())
	}
	if got := c.Next(scenario.Client); got != 1201 {
		t.Errorf("Next(Client) = %d after dropped 200 bytes, want 1201", got)
	}
	p := c.Send(scenario.Client, "PA", 10)
	ack := c.Send(scenario.Server, "A", 0)
	fin := c.Drop(scenario.Client, "FA", 0)
	mustOK(t, b)
	if p.Frame != 4 || p.Seq != 1201 || ack.Frame != 5 || ack.Ack != 1211 {
		t.Errorf("after drop: data %+v ack %+v", p, ack)
	}
	if fin.Frame != 0 || c.Next(scenario.Client) != 1212 {
		t.Errorf("dropped FIN %+v, Next(Client) %d", fin, c.Next(scenario.Client))
	}
	_, frames := readCapture(t, b.Bytes())
	if len(frames) != 5 {
		t.Fatalf("capture has %d frames, want 5", len(frames))
	}
	if got := tcpOf(t, frames[3]).Seq; got != 1201 {
		t.Errorf("frame 4 seq %d, want 1201", got)
	}
}

func TestWriteCustomPackets(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
	c.Handshake()
	orig := c.Send(scenario.Client, "PA", 100)
	next := c.Next(scenario.Client)

	// Retransmission: same packet again, state unchanged.
	rtx := c.Write(orig)
	if rtx.Frame != 5 || rtx.Seq != orig.Seq || c.Next(scenario.Client) != next {
		t.Errorf("retransmission %+v, Next %d (want %d)", rtx, c.Next(scenario.Client), next)
	}

	// Segment peeks without writing or advancing.
	rst := c.Segment(scenario.Server, "R", 0)
	if rst.Frame != 0 || rst.Seq != 5001 || rst.Ack != 0 || b.Frames() != 5 {
		t.Errorf("Segment %+v, Frames %d", rst, b.Frames())
	}
	rst.Seq += 1 << 20 // out of window
	rst = c.Write(rst)

	// A literal Packet with SACK and timestamps.
	sack := c.Write(scenario.Packet{
		From: scenario.Server, Flags: "A", Seq: 5001, Ack: 1001, Window: 500,
		WScale: scenario.NoWScale, SACK: [][2]uint32{{1101, 1201}, {1301, 1401}, {1501, 1601}},
		Timestamps: true, TSVal: 77, TSEcr: 66,
	})
	// WScale 0 is an option with shift 0.
	ws0 := c.Write(scenario.Packet{From: scenario.Client, Flags: "A", Seq: 9})
	mustOK(t, b)
	if rst.Frame != 6 || sack.Frame != 7 || ws0.Frame != 8 {
		t.Errorf("frames %d %d %d, want 6 7 8", rst.Frame, sack.Frame, ws0.Frame)
	}
	if c.Next(scenario.Server) != 5001 || c.Next(scenario.Client) != next {
		t.Errorf("Write changed state: Next = %d/%d", c.Next(scenario.Client), c.Next(scenario.Server))
	}

	_, frames := readCapture(t, b.Bytes())
	if diff := cmp.Diff(segOf(tcpOf(t, frames[3])), segOf(tcpOf(t, frames[4]))); diff != "" {
		t.Errorf("retransmission differs from original (-orig +rtx):\n%s", diff)
	}
	if string(tcpOf(t, frames[3]).Payload) != string(tcpOf(t, frames[4]).Payload) {
		t.Error("retransmitted payload differs")
	}
	if got := segOf(tcpOf(t, frames[5])); got != (seg{80, 40000, "R", 5001 + 1<<20, 0, 65535, 0}) {
		t.Errorf("RST %+v", got)
	}
	wantOpts := []string{"NOP", "NOP", "TS=77,66", "NOP", "NOP", "SACK 1101-1201 1301-1401 1501-1601"}
	if diff := cmp.Diff(wantOpts, optionKinds(tcpOf(t, frames[6]))); diff != "" {
		t.Errorf("SACK options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"NOP", "WindowScale=0"}, optionKinds(tcpOf(t, frames[7]))); diff != "" {
		t.Errorf("WScale 0 options (-want +got):\n%s", diff)
	}
	for _, f := range frames {
		checkChecksums(t, f)
	}
}

func TestSetNextNewIncarnation(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
	c.Handshake()
	c.Send(scenario.Client, "RA", 0)
	c.SetNext(scenario.Client, 900000)
	c.SetNext(scenario.Server, 1)
	hs := c.Handshake()
	mustOK(t, b)
	if hs[0].Seq != 900000 || hs[1].Seq != 1 || hs[1].Ack != 900001 || hs[2].Ack != 2 {
		t.Errorf("second handshake %+v", hs)
	}
	if hs[0].Frame != 5 {
		t.Errorf("second SYN frame %d, want 5", hs[0].Frame)
	}
}

func TestSimultaneousOpenAndFlags(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:1", "10.0.0.2:2")
	c.Send(scenario.Client, "S", 0)
	c.Send(scenario.Server, "S", 0)
	c.Send(scenario.Client, "SA", 0)
	c.Send(scenario.Server, "SAEC", 0)
	c.Send(scenario.Client, "UPAF", 3)
	c.Send(scenario.Server, "", 0) // no flags at all
	mustOK(t, b)
	_, frames := readCapture(t, b.Bytes())
	var got []string
	for _, f := range frames {
		got = append(got, flagString(tcpOf(t, f)))
	}
	if diff := cmp.Diff([]string{"S", "S", "SA", "SAEC", "AFPU", ""}, got); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
	// Every SYN consumes a sequence number, even a repeated one: the client
	// sent two SYNs, 3 bytes and a FIN; the server two SYNs.
	if c.Next(scenario.Client) != 1000+2+3+1 || c.Next(scenario.Server) != 5000+2 {
		t.Errorf("Next = %d/%d", c.Next(scenario.Client), c.Next(scenario.Server))
	}
}
