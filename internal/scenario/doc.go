// Package scenario builds TCP packet captures in memory, for tests only.
//
// A test scripts one or more TCP connections packet by packet and gets back
// the bytes of a real pcap (or pcapng) file, serialized with gopacket's
// layers and written with pcapgo, ready to be fed to the code under test:
//
//	b := scenario.New(scenario.Options{})
//	c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
//	c.Handshake()
//	b.Advance(10 * time.Millisecond)
//	c.Send(scenario.Client, "PA", 100)
//	c.Drop(scenario.Server, "A", 0) // the capture missed this one
//	c.Send(scenario.Client, "FA", 0)
//	if err := b.Err(); err != nil {
//		t.Fatal(err)
//	}
//	data := b.Bytes()
//
// The package never panics on bad input. Instead the Builder records the
// first error (invalid address, unknown flag letter, oversized option list,
// ...) and exposes it through Builder.Err, so test code can script a whole
// scenario and check for an error once at the end. A call that fails writes
// nothing and returns a zero Packet (Frame 0).
//
// The capture clock only moves when Builder.Advance is called: every packet
// written gets the current clock as its timestamp.
//
// Frames are built as follows:
//   - Ethernet: client MAC 02:00:00:00:00:01, server MAC 02:00:00:00:00:02,
//     optional 802.1Q tags (two or more tags: the outer one uses EtherType
//     0x88a8). gopacket pads Ethernet frames shorter than 60 bytes with zeros,
//     so small frames carry trailing padding after the IP packet.
//   - Linux cooked captures (SLL, SLL2): the capture is taken on the client,
//     so client packets have packet type 4 (outgoing) and server packets
//     packet type 0 (host); the address is the sender's MAC; the SLL2
//     interface index is 1.
//   - Null (BSD loopback): a 4-byte little-endian address family, 2 for IPv4
//     and 24 for IPv6.
//   - IPv4: TTL 64, DF set, IP IDs incrementing from 1 across the capture.
//   - IPv6: hop limit 64, next header TCP.
//   - TCP payload byte at sequence number n is byte(n), so a retransmission
//     carries the same bytes as the original.
//
// A Builder is not safe for concurrent use.
package scenario
