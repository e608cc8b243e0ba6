package scenario_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/scenario"
)

func TestErrorsAreRecordedNotPanicked(t *testing.T) {
	v4 := func(b *scenario.Builder) *scenario.Conn { return b.Conn("10.0.0.1:1", "10.0.0.2:2") }
	tests := []struct {
		name string
		opts scenario.Options
		run  func(b *scenario.Builder)
		want string
	}{
		{"bad address", scenario.Options{}, func(b *scenario.Builder) {
			c := b.Conn("10.0.0.1", "10.0.0.2:2")
			c.Handshake()
			c.SetNext(scenario.Client, 1)
			c.Write(scenario.Packet{})
			if c.Next(scenario.Client) != 0 {
				t.Error("bad Conn has state")
			}
		}, "Conn"},
		{"mixed families", scenario.Options{}, func(b *scenario.Builder) {
			b.Conn("10.0.0.1:1", "[2001:db8::1]:2").Send(scenario.Client, "S", 0)
		}, "address families"},
		{"unknown flag", scenario.Options{}, func(b *scenario.Builder) { v4(b).Send(scenario.Client, "SX", 0) }, "unknown TCP flag"},
		{"negative payload", scenario.Options{}, func(b *scenario.Builder) { v4(b).Drop(scenario.Client, "A", -1) }, "negative payload"},
		{"negative payload write", scenario.Options{}, func(b *scenario.Builder) {
			v4(b).Write(scenario.Packet{Flags: "A", Payload: -5, WScale: scenario.NoWScale})
		}, "negative payload"},
		{"huge payload", scenario.Options{}, func(b *scenario.Builder) { v4(b).Send(scenario.Client, "A", 70000) }, "too large"},
		{"invalid side", scenario.Options{}, func(b *scenario.Builder) { v4(b).Send(scenario.Side(7), "A", 0) }, "invalid side"},
		{"invalid side write", scenario.Options{}, func(b *scenario.Builder) { v4(b).Write(scenario.Packet{From: -1}) }, "invalid side"},
		{"invalid side setnext", scenario.Options{}, func(b *scenario.Builder) { v4(b).SetNext(2, 0) }, "invalid side"},
		{"invalid side SYNOptions", scenario.Options{}, func(b *scenario.Builder) {
			b.Conn("10.0.0.1:1", "10.0.0.2:2", scenario.SYNOptions(5, 0, 0, false)).Handshake()
		}, "SYNOptions"},
		{"too many SACK blocks", scenario.Options{}, func(b *scenario.Builder) {
			v4(b).Write(scenario.Packet{Flags: "A", WScale: scenario.NoWScale, Timestamps: true, SACK: make([][2]uint32, 4)})
		}, "more than 40"},
		{"wscale too big", scenario.Options{}, func(b *scenario.Builder) {
			v4(b).Write(scenario.Packet{Flags: "S", WScale: 300})
		}, "window scale"},
		{"bad link type", scenario.Options{Link: 42}, func(b *scenario.Builder) { v4(b).Handshake() }, "unsupported link type"},
		{"VLAN on raw", scenario.Options{Link: scenario.RawIP, VLANs: []uint16{1}}, func(*scenario.Builder) {}, "VLAN"},
		{"VLAN out of range", scenario.Options{VLANs: []uint16{5000}}, func(*scenario.Builder) {}, "VLAN ID"},
		{"negative snaplen", scenario.Options{Snaplen: -1}, func(*scenario.Builder) {}, "snaplen"},
		{"time before 1970", scenario.Options{Start: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}, func(b *scenario.Builder) {
			b.WriteRaw([]byte{1})
		}, "timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := scenario.New(tt.opts)
			tt.run(b)
			err := b.Err()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Err() = %v, want an error containing %q", err, tt.want)
			}
			// The capture stays readable.
			readCapture(t, b.Bytes())
		})
	}
}

func TestFirstErrorKeptAndFailedCallsWriteNothing(t *testing.T) {
	b := scenario.New(scenario.Options{})
	c := b.Conn("10.0.0.1:1", "10.0.0.2:2", nil, scenario.ISN(1, 2))
	p := c.Send(scenario.Client, "Q", 10)
	c.Send(scenario.Client, "A", -1)
	if p.Frame != 0 || b.Frames() != 0 || c.Next(scenario.Client) != 1 {
		t.Errorf("failed Send wrote or advanced: %+v, Frames %d, Next %d", p, b.Frames(), c.Next(scenario.Client))
	}
	if err := b.Err(); err == nil || !strings.Contains(err.Error(), `'Q'`) {
		t.Errorf("Err() = %v, want the first (flag) error", err)
	}
	// The builder keeps working after an error.
	if p := c.Send(scenario.Client, "S", 0); p.Frame != 1 {
		t.Errorf("Send after error: Frame %d", p.Frame)
	}
	if _, frames := readCapture(t, b.Bytes()); len(frames) != 1 {
		t.Errorf("%d frames, want 1", len(frames))
	}
	if err := b.WriteFile(t.TempDir() + "/x.pcap"); err == nil {
		t.Error("WriteFile did not report the recorded error")
	}
}
