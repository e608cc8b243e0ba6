package scenario

import (
	"encoding/binary"
	"fmt"
	"net"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// arphrdEther is ARPHRD_ETHER, the hardware type in Linux cooked headers.
const arphrdEther = 1

// flagLetters maps each flag letter to the TCP header bit it sets.
var flagLetters = map[rune]func(*layers.TCP){
	'S': func(t *layers.TCP) { t.SYN = true },
	'A': func(t *layers.TCP) { t.ACK = true },
	'F': func(t *layers.TCP) { t.FIN = true },
	'R': func(t *layers.TCP) { t.RST = true },
	'P': func(t *layers.TCP) { t.PSH = true },
	'U': func(t *layers.TCP) { t.URG = true },
	'E': func(t *layers.TCP) { t.ECE = true },
	'C': func(t *layers.TCP) { t.CWR = true },
}

// parseFlags checks a flags string and returns the decoded flags as a TCP
// layer with only the flag fields set.
func parseFlags(flags string) (layers.TCP, error) {
	var t layers.TCP
	for _, r := range flags {
		set, ok := flagLetters[r]
		if !ok {
			return t, fmt.Errorf("unknown TCP flag %q in %q (want letters of SAFRPUEC)", r, flags)
		}
		set(&t)
	}
	return t, nil
}

// tcpOptions returns the option list for p, laid out like Linux does (NOPs
// keep every option 4-byte aligned, so no trailing padding is needed).
func tcpOptions(p Packet) ([]layers.TCPOption, error) {
	var opts []layers.TCPOption
	nop := layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1}
	add := func(kind layers.TCPOptionKind, data []byte) {
		opts = append(opts, layers.TCPOption{OptionType: kind, OptionLength: uint8(2 + len(data)), OptionData: data})
	}
	if p.MSS != 0 {
		add(layers.TCPOptionKindMSS, binary.BigEndian.AppendUint16(nil, p.MSS))
	}
	ts := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, p.TSVal), p.TSEcr)
	switch {
	case p.SACKPerm && p.Timestamps:
		add(layers.TCPOptionKindSACKPermitted, nil)
		add(layers.TCPOptionKindTimestamps, ts)
	case p.SACKPerm:
		opts = append(opts, nop, nop)
		add(layers.TCPOptionKindSACKPermitted, nil)
	case p.Timestamps:
		opts = append(opts, nop, nop)
		add(layers.TCPOptionKindTimestamps, ts)
	}
	if p.WScale >= 0 {
		if p.WScale > 255 {
			return nil, fmt.Errorf("window scale %d does not fit in a byte", p.WScale)
		}
		opts = append(opts, nop)
		add(layers.TCPOptionKindWindowScale, []byte{byte(p.WScale)})
	}
	if len(p.SACK) > 0 {
		var data []byte
		for _, blk := range p.SACK {
			data = binary.BigEndian.AppendUint32(data, blk[0])
			data = binary.BigEndian.AppendUint32(data, blk[1])
		}
		opts = append(opts, nop, nop)
		add(layers.TCPOptionKindSACK, data)
	}
	n := 0
	for _, o := range opts {
		n += int(o.OptionLength)
	}
	if n > 40 {
		return nil, fmt.Errorf("TCP options need %d bytes, more than 40", n)
	}
	return opts, nil
}

// payloadBytes returns n payload bytes where the byte at sequence number s
// is byte(s). A SYN occupies the first sequence number.
func payloadBytes(p Packet) []byte {
	start := p.Seq
	if t, _ := parseFlags(p.Flags); t.SYN {
		start++
	}
	data := make([]byte, p.Payload)
	for i := range data {
		data[i] = byte(start + uint32(i))
	}
	return data
}

// rawHeader is a link-layer header serialized by hand.
type rawHeader []byte

func (h rawHeader) LayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

func (h rawHeader) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	out, err := b.PrependBytes(len(h))
	if err != nil {
		return err
	}
	copy(out, h)
	return nil
}

// linkLayers returns the link-layer headers for a frame sent by from that
// carries a network packet of the given EtherType.
func (b *Builder) linkLayers(from Side, et layers.EthernetType) []gopacket.SerializableLayer {
	src := from.MAC()
	// The capture is taken on the client: its packets are outgoing.
	pktType := byte(layers.LinuxSLLPacketTypeHost)
	if from == Client {
		pktType = byte(layers.LinuxSLLPacketTypeOutgoing)
	}
	switch b.opts.Link {
	case RawIP:
		return nil
	case Null:
		fam := layers.ProtocolFamilyIPv4
		if et == layers.EthernetTypeIPv6 {
			fam = layers.ProtocolFamilyIPv6BSD
		}
		return []gopacket.SerializableLayer{&layers.Loopback{Family: fam}}
	case LinuxSLL:
		h := make(rawHeader, 16)
		h[1] = pktType
		binary.BigEndian.PutUint16(h[2:], arphrdEther)
		binary.BigEndian.PutUint16(h[4:], uint16(len(src)))
		copy(h[6:14], src)
		binary.BigEndian.PutUint16(h[14:], uint16(et))
		return []gopacket.SerializableLayer{h}
	case LinuxSLL2:
		h := make(rawHeader, 20)
		binary.BigEndian.PutUint16(h[0:], uint16(et))
		binary.BigEndian.PutUint32(h[4:], 1) // interface index
		binary.BigEndian.PutUint16(h[8:], arphrdEther)
		h[10] = pktType
		h[11] = byte(len(src))
		copy(h[12:20], src)
		return []gopacket.SerializableLayer{h}
	}
	eth := &layers.Ethernet{SrcMAC: src, DstMAC: from.Peer().MAC(), EthernetType: et}
	out := []gopacket.SerializableLayer{eth}
	for i, id := range b.opts.VLANs {
		tag := &layers.Dot1Q{VLANIdentifier: id & 0xfff, Type: et}
		if i+1 < len(b.opts.VLANs) {
			tag.Type = layers.EthernetTypeDot1Q
		}
		if i == 0 {
			eth.EthernetType = layers.EthernetTypeDot1Q
			if len(b.opts.VLANs) > 1 {
				eth.EthernetType = layers.EthernetTypeQinQ
			}
		}
		out = append(out, tag)
	}
	return out
}

// encode serializes p, sent on c, into a complete link-layer frame.
func (b *Builder) encode(c *Conn, p Packet) ([]byte, error) {
	tcp, err := parseFlags(p.Flags)
	if err != nil {
		return nil, err
	}
	if p.Payload < 0 {
		return nil, fmt.Errorf("negative payload length %d", p.Payload)
	}
	if tcp.Options, err = tcpOptions(p); err != nil {
		return nil, err
	}
	src, dst := c.addr[p.From], c.addr[p.From.Peer()]
	tcp.SrcPort = layers.TCPPort(src.Port())
	tcp.DstPort = layers.TCPPort(dst.Port())
	tcp.Seq, tcp.Ack, tcp.Window = p.Seq, p.Ack, p.Window
	hdr := 20
	for _, o := range tcp.Options {
		hdr += int(o.OptionLength)
	}

	var ip gopacket.NetworkLayer
	var ipLayer gopacket.SerializableLayer
	et := layers.EthernetTypeIPv4
	if c.v6 {
		if hdr+p.Payload > 0xffff {
			return nil, fmt.Errorf("payload length %d too large for IPv6", p.Payload)
		}
		ip6 := &layers.IPv6{
			Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: net.IP(src.Addr().AsSlice()), DstIP: net.IP(dst.Addr().AsSlice()),
		}
		ip, ipLayer, et = ip6, ip6, layers.EthernetTypeIPv6
	} else {
		if 20+hdr+p.Payload > 0xffff {
			return nil, fmt.Errorf("payload length %d too large for IPv4", p.Payload)
		}
		b.ipID++
		ip4 := &layers.IPv4{
			Version: 4, IHL: 5, TTL: 64, Flags: layers.IPv4DontFragment, Id: b.ipID,
			Protocol: layers.IPProtocolTCP,
			SrcIP:    net.IP(src.Addr().AsSlice()), DstIP: net.IP(dst.Addr().AsSlice()),
		}
		ip, ipLayer = ip4, ip4
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	ls := append(b.linkLayers(p.From, et), ipLayer, &tcp, gopacket.Payload(payloadBytes(p)))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
