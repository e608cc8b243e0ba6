package capture_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
)

// scriptStart has nanoseconds below the microsecond so that microsecond
// pcaps visibly round and nanosecond ones do not.
var scriptStart = time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC)

// scriptStep is how far the clock moves between packets; not a whole
// number of microseconds either.
const scriptStep = 1234567 * time.Nanosecond

// writeScript writes one connection that exercises every decoded field:
// SYN options with timestamps, a SYN-ACK with other options, data with
// timestamps, ACKs with three and four SACK blocks, every flag bit, and a
// FIN. It returns the packets and, for each, the capture clock when it was
// written (read from the Builder, not from the Packet).
func writeScript(b *scenario.Builder, client, server string) ([]scenario.Packet, []time.Time) {
	c := b.Conn(client, server,
		scenario.ISN(4294967000, 123456789),
		scenario.Window(64240, 28960),
		scenario.SYNOptions(scenario.Server, 1380, 9, false))
	var pkts []scenario.Packet
	var clock []time.Time
	write := func(p scenario.Packet) {
		clock = append(clock, b.Now())
		pkts = append(pkts, c.Write(p))
		b.Advance(scriptStep)
	}
	send := func(from scenario.Side, flags string, payload int) {
		clock = append(clock, b.Now())
		pkts = append(pkts, c.Send(from, flags, payload))
		b.Advance(scriptStep)
	}

	syn := c.Segment(scenario.Client, "S", 0)
	syn.Timestamps, syn.TSVal, syn.TSEcr = true, 1000, 0
	write(syn)
	c.SetNext(scenario.Client, syn.Seq+1)
	send(scenario.Server, "SA", 0) // MSS 1380, wscale 9, no SACK-permitted
	send(scenario.Client, "A", 0)

	data := c.Segment(scenario.Client, "PA", 100)
	data.Timestamps, data.TSVal, data.TSEcr = true, 1001, 77777
	write(data)
	c.SetNext(scenario.Client, data.Seq+100)

	ack3 := c.Segment(scenario.Server, "A", 0)
	ack3.Timestamps, ack3.TSVal, ack3.TSEcr = true, 77778, 1001
	ack3.SACK = [][2]uint32{{10, 20}, {30, 40}, {4294967290, 5}}
	write(ack3)

	ack4 := c.Segment(scenario.Server, "A", 0)
	ack4.SACK = [][2]uint32{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
	write(ack4)

	send(scenario.Client, "APUEC", 1)
	send(scenario.Server, "RA", 0)
	send(scenario.Client, "FA", 0)
	return pkts, clock
}

func TestLinkTypesAndFormats(t *testing.T) {
	families := []struct {
		name           string
		client, server string
	}{
		{"ipv4", "192.0.2.1:40000", "198.51.100.7:443"},
		{"ipv6", "[2001:db8::1]:40000", "[2001:db8:ffff::2]:443"},
	}
	tests := []struct {
		name string
		opts scenario.Options
		gzip bool
	}{
		{name: "ethernet", opts: scenario.Options{}},
		{name: "ethernet-nano", opts: scenario.Options{Nanosecond: true}},
		{name: "vlan", opts: scenario.Options{VLANs: []uint16{100}}},
		{name: "qinq", opts: scenario.Options{VLANs: []uint16{100, 4094}}},
		{name: "sll", opts: scenario.Options{Link: scenario.LinuxSLL}},
		{name: "sll2", opts: scenario.Options{Link: scenario.LinuxSLL2}},
		{name: "null", opts: scenario.Options{Link: scenario.Null}},
		{name: "raw", opts: scenario.Options{Link: scenario.RawIP}},
		{name: "pcapng-ethernet", opts: scenario.Options{PcapNG: true}},
		{name: "pcapng-qinq", opts: scenario.Options{PcapNG: true, VLANs: []uint16{7, 8}}},
		{name: "pcapng-sll2", opts: scenario.Options{PcapNG: true, Link: scenario.LinuxSLL2}},
		{name: "pcapng-null", opts: scenario.Options{PcapNG: true, Link: scenario.Null}},
		{name: "gzip-pcap", opts: scenario.Options{Nanosecond: true, VLANs: []uint16{42}}, gzip: true},
		{name: "gzip-pcap-micro", opts: scenario.Options{Link: scenario.LinuxSLL}, gzip: true},
		{name: "gzip-pcapng", opts: scenario.Options{PcapNG: true, Link: scenario.RawIP}, gzip: true},
	}
	for _, tt := range tests {
		for _, fam := range families {
			t.Run(tt.name+"/"+fam.name, func(t *testing.T) {
				opts := tt.opts
				opts.Start = scriptStart
				b := scenario.New(opts)
				pkts, clock := writeScript(b, fam.client, fam.server)
				data := mustBytes(t, b)
				if tt.gzip {
					data = gzipped(t, data)
				}
				client, server := netip.MustParseAddrPort(fam.client), netip.MustParseAddrPort(fam.server)
				var want []capture.Segment
				for i, p := range pkts {
					s := expectSegment(t, p, client, server)
					s.Time = clock[i]
					if !opts.Nanosecond && !opts.PcapNG {
						s.Time = s.Time.Truncate(time.Microsecond)
					}
					copy(s.VLAN[:], opts.VLANs)
					want = append(want, s)
				}
				got, r, err := readAll(t, tt.name, data)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if diff := diffSegments(want, got); diff != "" {
					t.Errorf("segments (-want +got):\n%s", diff)
				}
				n := int64(len(pkts))
				if r.Stats.Packets != n || r.Stats.Tracked() != n {
					t.Errorf("Stats.Packets %d, Tracked %d; want %d and %d (ByReason %v)", r.Stats.Packets, r.Stats.Tracked(), n, n, r.Stats.ByReason)
				}
			})
		}
	}
}

// TestScriptCoversFields guards writeScript: if it stopped exercising a
// field, TestLinkTypesAndFormats could no longer fail on that field.
func TestScriptCoversFields(t *testing.T) {
	b := scenario.New(scenario.Options{Start: scriptStart})
	pkts, _ := writeScript(b, "192.0.2.1:1", "192.0.2.2:2")
	mustBytes(t, b)
	var flags capture.Flags
	var sawMSS, sawWS, sawSACKPerm, sawTS, saw3, saw4, sawPayload bool
	for _, p := range pkts {
		flags |= flagsOf(t, p.Flags)
		sawMSS = sawMSS || p.MSS != 0
		sawWS = sawWS || p.WScale > 0
		sawSACKPerm = sawSACKPerm || p.SACKPerm
		sawTS = sawTS || (p.Timestamps && p.TSVal != 0 && p.TSEcr != 0)
		saw3 = saw3 || len(p.SACK) == 3
		saw4 = saw4 || len(p.SACK) == 4
		sawPayload = sawPayload || p.Payload > 1
	}
	all := capture.FIN | capture.SYN | capture.RST | capture.PSH | capture.ACK | capture.URG | capture.ECE | capture.CWR
	if flags != all {
		t.Errorf("script sets flags %v, want all %v", flags, all)
	}
	for name, ok := range map[string]bool{"MSS": sawMSS, "window scale": sawWS, "SACK-permitted": sawSACKPerm,
		"timestamps": sawTS, "3 SACK blocks": saw3, "4 SACK blocks": saw4, "payload": sawPayload} {
		if !ok {
			t.Errorf("script has no packet with %s", name)
		}
	}
}

// TestWindowScaleClamp: RFC 7323 says a shift above 14 is used as 14.
func TestWindowScaleClamp(t *testing.T) {
	for _, shift := range []int{0, 14, 15, 255} {
		t.Run(fmt.Sprint(shift), func(t *testing.T) {
			b := scenario.New(scenario.Options{})
			c := b.Conn("10.0.0.1:1", "10.0.0.2:2", scenario.SYNOptions(scenario.Client, 0, shift, false))
			c.Send(scenario.Client, "S", 0)
			segs, _, err := readAll(t, "wscale.pcap", mustBytes(t, b))
			if err != nil || len(segs) != 1 {
				t.Fatalf("got %d segments, error %v", len(segs), err)
			}
			if want := int8(min(shift, 14)); segs[0].WindowScale != want {
				t.Errorf("WindowScale %d, want %d", segs[0].WindowScale, want)
			}
			if segs[0].MSS != 0 || segs[0].SACKPerm {
				t.Errorf("MSS %d SACKPerm %v, want absent", segs[0].MSS, segs[0].SACKPerm)
			}
		})
	}
}

// TestHeaderOnlyCapture: with a snap length that keeps only the headers,
// PayloadLen still comes from the IP length while CapturedPayload counts
// what the file holds.
func TestHeaderOnlyCapture(t *testing.T) {
	tests := []struct {
		name           string
		snaplen        int
		client, server string
		timestamps     bool
		payload        int
		captured       int
	}{
		{"ipv4-no-options", 54, "10.0.0.1:5000", "10.0.0.2:80", false, 1448, 0},
		{"ipv4-timestamps", 66, "10.0.0.1:5000", "10.0.0.2:80", true, 1448, 0},
		{"ipv4-some-payload", 60, "10.0.0.1:5000", "10.0.0.2:80", false, 1000, 6},
		{"ipv6-no-options", 74, "[2001:db8::1]:5000", "[2001:db8::2]:80", false, 1440, 0},
		{"ipv6-timestamps", 86, "[2001:db8::1]:5000", "[2001:db8::2]:80", true, 1428, 0},
		{"ipv6-some-payload", 96, "[2001:db8::1]:5000", "[2001:db8::2]:80", true, 500, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := scenario.New(scenario.Options{Snaplen: tt.snaplen})
			c := b.Conn(tt.client, tt.server)
			c.SetNext(scenario.Client, 100000)
			c.SetNext(scenario.Server, 900000)
			p := c.Segment(scenario.Client, "PA", tt.payload)
			p.Timestamps, p.TSVal, p.TSEcr = tt.timestamps, 5, 6
			p = c.Write(p)
			fin := c.Segment(scenario.Server, "FA", 0)
			fin.Timestamps, fin.TSVal, fin.TSEcr = tt.timestamps, 7, 5
			fin = c.Write(fin)
			data := mustBytes(t, b)

			client, server := netip.MustParseAddrPort(tt.client), netip.MustParseAddrPort(tt.server)
			wantData := expectSegment(t, p, client, server)
			wantData.Time = scenario.DefaultStart
			wantData.CapturedPayload = tt.captured
			wantFin := expectSegment(t, fin, client, server)
			wantFin.Time = scenario.DefaultStart
			got, _, err := readAll(t, tt.name, data)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if diff := diffSegments([]capture.Segment{wantData, wantFin}, got); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSnaplenCutsOptions: a SYN whose options were cut by the snap length
// is still a SYN with the right sequence number.
func TestSnaplenCutsOptions(t *testing.T) {
	b := scenario.New(scenario.Options{Snaplen: 58}) // 4 of the 20 option bytes
	c := b.Conn("10.0.0.1:5000", "10.0.0.2:80")
	syn := c.Send(scenario.Client, "S", 0)
	got, r, err := readAll(t, "cut-syn.pcap", mustBytes(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d segments, want 1 (ByReason %v)", len(got), r.Stats.ByReason)
	}
	if s := got[0]; s.Flags != capture.SYN || s.Seq != syn.Seq || s.PayloadLen != 0 || s.CapturedPayload != 0 {
		t.Errorf("segment flags %v seq %d payload %d/%d; want S, %d, 0/0", s.Flags, s.Seq, s.PayloadLen, s.CapturedPayload, syn.Seq)
	}
}
