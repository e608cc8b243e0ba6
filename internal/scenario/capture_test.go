package scenario_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcplens/tcplens/internal/scenario"
)

func TestTimestampResolution(t *testing.T) {
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	const step = 1500 * time.Nanosecond
	tests := []struct {
		name string
		opts scenario.Options
		res  time.Duration // expected resolution
	}{
		{"pcap-micro", scenario.Options{Start: start}, time.Microsecond},
		{"pcap-nano", scenario.Options{Start: start, Nanosecond: true}, time.Nanosecond},
		{"pcapng", scenario.Options{Start: start, PcapNG: true}, time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := scenario.New(tt.opts)
			c := b.Conn("10.0.0.1:1", "10.0.0.2:2")
			var sent []scenario.Packet
			for i := 0; i < 3; i++ {
				sent = append(sent, c.Send(scenario.Client, "A", 0))
				b.Advance(step)
			}
			mustOK(t, b)
			if got, want := b.Now(), start.Add(3*step); !got.Equal(want) {
				t.Errorf("Now() = %v, want %v", got, want)
			}
			_, frames := readCapture(t, b.Bytes())
			for i, f := range frames {
				want := start.Add(time.Duration(i) * step).Truncate(tt.res)
				if !f.ci.Timestamp.Equal(want) {
					t.Errorf("frame %d timestamp %v, want %v", i+1, f.ci.Timestamp.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
				}
				if !sent[i].Time.Equal(want) {
					t.Errorf("frame %d Packet.Time %v, want %v", i+1, sent[i].Time, want)
				}
			}
		})
	}
}

func TestDefaultStartAndBackwardsClock(t *testing.T) {
	b := scenario.New(scenario.Options{})
	if !b.Now().Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("default start %v", b.Now())
	}
	b.Advance(time.Second)
	b.WriteRaw([]byte{1})
	b.Advance(-500 * time.Millisecond)
	b.WriteRaw([]byte{2})
	mustOK(t, b)
	_, frames := readCapture(t, b.Bytes())
	if d := frames[1].ci.Timestamp.Sub(frames[0].ci.Timestamp); d != -500*time.Millisecond {
		t.Errorf("second frame is %v after the first, want -500ms", d)
	}
}

func TestSnaplenTruncates(t *testing.T) {
	for _, ng := range []bool{false, true} {
		b := scenario.New(scenario.Options{Snaplen: 64, PcapNG: ng})
		c := b.Conn("10.0.0.1:1", "10.0.0.2:2")
		c.Handshake()
		c.Send(scenario.Client, "PA", 1000)
		c.Send(scenario.Server, "A", 0)
		mustOK(t, b)
		if got := b.Options().Snaplen; got != 64 {
			t.Errorf("Options().Snaplen = %d", got)
		}
		_, frames := readCapture(t, b.Bytes())
		if len(frames) != 5 {
			t.Fatalf("pcapng=%v: %d frames", ng, len(frames))
		}
		data := frames[3]
		if data.ci.CaptureLength != 64 || len(data.raw) != 64 || data.ci.Length != 14+20+20+1000 {
			t.Errorf("pcapng=%v: CaptureLength %d (%d bytes), Length %d", ng, data.ci.CaptureLength, len(data.raw), data.ci.Length)
		}
		ip, ok := data.pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			t.Fatalf("pcapng=%v: no IPv4 layer in truncated frame: %v", ng, data.pkt)
		}
		if ip.Length != 20+20+1000 {
			t.Errorf("pcapng=%v: IP total length %d, want 1040", ng, ip.Length)
		}
		if tcp := tcpOf(t, data); tcp.Seq != 1001 || len(tcp.Payload) != 64-54 {
			t.Errorf("pcapng=%v: truncated TCP seq %d payload %d", ng, tcp.Seq, len(tcp.Payload))
		}
		// Short frames are not affected.
		if f := frames[4]; f.ci.CaptureLength != f.ci.Length {
			t.Errorf("pcapng=%v: short frame truncated: %+v", ng, f.ci)
		}
	}
}

func TestPcapNGHeaderOnly(t *testing.T) {
	b := scenario.New(scenario.Options{PcapNG: true, Link: scenario.RawIP, Snaplen: 40})
	c := b.Conn("[2001:db8::1]:1", "[2001:db8::2]:2")
	c.Send(scenario.Client, "PA", 100)
	mustOK(t, b)
	data := b.Bytes()
	if !bytes.Equal(data[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		t.Fatalf("not a pcapng section header: % x", data[:4])
	}
	lt, frames := readCapture(t, data)
	if lt != layers.LinkTypeRaw || len(frames) != 1 {
		t.Fatalf("link type %v, %d frames", lt, len(frames))
	}
	if ci := frames[0].ci; ci.CaptureLength != 40 || ci.Length != 40+20+100 {
		t.Errorf("capture info %+v", ci)
	}
	ip := frames[0].pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if ip.Length != 120 {
		t.Errorf("IPv6 payload length %d, want 120", ip.Length)
	}
}

func TestWriteRaw(t *testing.T) {
	b := scenario.New(scenario.Options{Link: scenario.RawIP})
	c := b.Conn("10.0.0.1:1", "10.0.0.2:2")
	c.Send(scenario.Client, "S", 0)
	garbage := []byte{0xde, 0xad, 0xbe, 0xef}
	b.WriteRaw(garbage)
	if b.Frames() != 2 {
		t.Errorf("Frames() = %d after WriteRaw, want 2", b.Frames())
	}
	if p := c.Send(scenario.Server, "SA", 0); p.Frame != 3 {
		t.Errorf("frame after raw = %d, want 3", p.Frame)
	}
	mustOK(t, b)
	_, frames := readCapture(t, b.Bytes())
	if !bytes.Equal(frames[1].raw, garbage) {
		t.Errorf("raw frame % x, want % x", frames[1].raw, garbage)
	}
	if frames[1].pkt.Layer(layers.LayerTypeTCP) != nil {
		t.Error("garbage decoded as TCP")
	}
}

func TestWriteFile(t *testing.T) {
	b := scenario.New(scenario.Options{})
	b.Conn("10.0.0.1:1", "10.0.0.2:2").Handshake()
	path := filepath.Join(t.TempDir(), "x.pcap")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Error("file contents differ from Bytes()")
	}
	// Bytes is a snapshot: writing more does not change an earlier result.
	before := b.Bytes()
	b.WriteRaw([]byte{0})
	if _, frames := readCapture(t, before); len(frames) != 3 {
		t.Errorf("snapshot has %d frames, want 3", len(frames))
	}
	if err := b.WriteFile(filepath.Join(t.TempDir(), "missing", "x.pcap")); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestDeterministic(t *testing.T) {
	build := func() []byte {
		b := scenario.New(scenario.Options{PcapNG: true})
		c := b.Conn("10.0.0.1:1", "10.0.0.2:2")
		c.Handshake()
		c.Send(scenario.Client, "PA", 10)
		return b.Bytes()
	}
	if !bytes.Equal(build(), build()) {
		t.Error("two identical scenarios produced different bytes")
	}
}
