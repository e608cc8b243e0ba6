// Package live captures packets from network interfaces with AF_PACKET
// memory-mapped rings (gopacket's afpacket: pure Go, no libpcap), for
// tcplens sniff.
package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/capture/filter"
)

// Interface is one capturable network interface.
type Interface struct {
	Name  string
	Index int
	Up    bool
	Flags net.Flags
	Addrs []string
	Link  layers.LinkType // what AF_PACKET hands over for it
	// Supported is false for link types tcplens does not decode.
	Supported bool
	HWType    int // ARPHRD_* from /sys/class/net/NAME/type
}

// Interfaces lists the system's interfaces.
func Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]Interface, 0, len(ifs))
	for _, ifc := range ifs {
		it := Interface{Name: ifc.Name, Index: ifc.Index, Up: ifc.Flags&net.FlagUp != 0, Flags: ifc.Flags}
		if addrs, err := ifc.Addrs(); err == nil {
			for _, a := range addrs {
				it.Addrs = append(it.Addrs, a.String())
			}
		}
		it.HWType = hwType(ifc.Name)
		it.Link, it.Supported = linkOf(it.HWType)
		out = append(out, it)
	}
	return out, nil
}

func hwType(name string) int {
	b, err := os.ReadFile("/sys/class/net/" + name + "/type")
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}

// linkOf maps an ARPHRD type to the frames AF_PACKET (SOCK_RAW) gives.
func linkOf(hw int) (layers.LinkType, bool) {
	switch hw {
	case 1, 772: // Ethernet; loopback has an all-zero Ethernet header
		return layers.LinkTypeEthernet, true
	case 65534, 776, 778: // none (tun, wireguard), ipip/sit, gre: bare IP
		return layers.LinkTypeRaw, true
	}
	return layers.LinkTypeNull, false
}

// Options say what to capture.
type Options struct {
	// Interfaces are names; "any" stands for every interface that is up.
	Interfaces []string
	Promisc    bool
	// Filter, if set, is attached to every socket as a BPF program, so
	// the kernel passes only what it selects.
	Filter *filter.Filter
	// BufferMB is the size of each interface's ring buffer in MiB (like
	// tcpdump's -B); 0 means DefaultBufferMB.
	BufferMB int
}

// DefaultBufferMB is the ring buffer per interface when Options.BufferMB
// is 0: about a second of 140,000 packets a second.
const DefaultBufferMB = 16

// Packet is one captured frame. Data is valid until the next call to Next.
type Packet struct {
	Data      []byte
	CI        gopacket.CaptureInfo
	Link      layers.LinkType
	Interface int // index in Source.Interfaces
}

// Source reads packets from one or more interfaces.
type Source struct {
	ifaces  []Interface
	handles []*afpacket.TPacket
	ch      chan packet
	stop    chan struct{}
	wg      sync.WaitGroup
	last    packet // handed out by Next, its buffer returned on the next call
	timer   *time.Timer
	mu      sync.Mutex
	err     error
}

type packet struct {
	buf   []byte
	n     int
	ci    gopacket.CaptureInfo
	iface int
	free  chan []byte
}

// ErrPermission says what is missing to capture.
var ErrPermission = errors.New("capturing needs root or the CAP_NET_RAW capability; grant it to the binary with: sudo setcap cap_net_raw,cap_net_admin+eip $(command -v tcplens)")

// Open starts capturing.
func Open(opts Options) (*Source, error) {
	all, err := Interfaces()
	if err != nil {
		return nil, err
	}
	byName := map[string]Interface{}
	for _, it := range all {
		byName[it.Name] = it
	}
	var chosen []Interface
	for _, name := range opts.Interfaces {
		if name == "any" {
			for _, it := range all {
				if it.Up && it.Supported {
					chosen = append(chosen, it)
				}
			}
			continue
		}
		it, ok := byName[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("no interface %q (tcplens interfaces lists them)", name)
		case !it.Supported:
			return nil, fmt.Errorf("interface %s: its link type (ARPHRD %d) is not one tcplens decodes", name, it.HWType)
		}
		chosen = append(chosen, it)
	}
	if len(chosen) == 0 {
		return nil, errors.New("no interface to capture on")
	}
	s := &Source{ifaces: chosen, ch: make(chan packet, 1024), stop: make(chan struct{}), timer: time.NewTimer(time.Hour)}
	blocks := opts.BufferMB // 1 MiB blocks
	if blocks <= 0 {
		blocks = DefaultBufferMB
	}
	for i, it := range chosen {
		h, err := afpacket.NewTPacket(afpacket.OptInterface(it.Name), afpacket.OptPollTimeout(100*time.Millisecond),
			afpacket.OptFrameSize(1<<16), afpacket.OptBlockSize(1<<20), afpacket.OptNumBlocks(blocks), afpacket.OptAddVLANHeader(true))
		if err != nil {
			s.Close()
			if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
				return nil, fmt.Errorf("interface %s: %w", it.Name, ErrPermission)
			}
			return nil, fmt.Errorf("interface %s: %v", it.Name, err)
		}
		s.handles = append(s.handles, h)
		prog, err := socketFilter(it, opts.Filter)
		if err == nil && prog != nil {
			err = h.SetBPF(prog)
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("interface %s: filter: %v", it.Name, err)
		}
		if opts.Promisc {
			if err := h.SetPromiscuous(true); err != nil {
				s.Close()
				return nil, fmt.Errorf("interface %s: promiscuous mode: %v", it.Name, err)
			}
		}
		s.wg.Add(1)
		go s.read(h, i)
	}
	return s, nil
}

// socketFilter is the BPF program for interface it: the user's filter, and
// on a loopback interface, where the kernel hands every packet over twice
// (as sent and as received), a test that drops the sent copy, as libpcap
// does. nil: no program.
func socketFilter(it Interface, f *filter.Filter) ([]bpf.RawInstruction, error) {
	var prog []bpf.RawInstruction
	if f != nil {
		p, err := f.Program(it.Link)
		if err != nil {
			return nil, err
		}
		prog = p
	}
	if it.HWType != 772 {
		return prog, nil
	}
	if prog == nil {
		prog, _ = bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 262144}})
	}
	const packetOutgoing = 4
	head, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: 0, SkipFalse: 1},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		return nil, err
	}
	return append(head, prog...), nil
}

// Interfaces returns the interfaces captured on, in the order of their
// indices in Packet.Interface.
func (s *Source) Interfaces() []Interface { return s.ifaces }

// read copies packets from one ring into buffers of its own, so that the
// ring slot is released at once; the buffers are recycled, not allocated
// per packet.
func (s *Source) read(h *afpacket.TPacket, iface int) {
	defer s.wg.Done()
	const nbuf = 256
	free := make(chan []byte, nbuf)
	for range nbuf {
		free <- make([]byte, 1<<16)
	}
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		data, ci, err := h.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) || errors.Is(err, syscall.EINTR) {
				continue
			}
			s.mu.Lock()
			if s.err == nil {
				s.err = fmt.Errorf("interface %s: %v", s.ifaces[iface].Name, err)
			}
			s.mu.Unlock()
			return
		}
		var buf []byte
		select {
		case buf = <-free:
		case <-s.stop:
			return
		}
		n := copy(buf, data)
		ci.InterfaceIndex = iface
		select {
		case s.ch <- packet{buf: buf, n: n, ci: ci, iface: iface, free: free}:
		case <-s.stop:
			return
		}
	}
}

// Next returns the next packet (ok), or ok false when nothing came for
// tick (callers run their timers then), or the context's error once it is
// done, or a capture error.
func (s *Source) Next(ctx context.Context, tick time.Duration) (p Packet, ok bool, err error) {
	if s.last.free != nil {
		s.last.free <- s.last.buf
		s.last = packet{}
	}
	select { // a packet that is already there comes first
	case q := <-s.ch:
		s.last = q
		return Packet{Data: q.buf[:q.n], CI: q.ci, Link: s.ifaces[q.iface].Link, Interface: q.iface}, true, nil
	default:
	}
	s.timer.Reset(tick)
	select {
	case q := <-s.ch:
		s.last = q
		return Packet{Data: q.buf[:q.n], CI: q.ci, Link: s.ifaces[q.iface].Link, Interface: q.iface}, true, nil
	case <-ctx.Done():
		return Packet{}, false, ctx.Err()
	case <-s.timer.C:
		s.mu.Lock()
		err := s.err
		s.mu.Unlock()
		return Packet{}, false, err
	}
}

// Stats returns the packets the kernel handed over and those it dropped
// because the rings were full, over all interfaces, since Open.
func (s *Source) Stats() (received, dropped uint64) {
	for _, h := range s.handles {
		_, v3, err := h.SocketStats()
		if err == nil {
			received += uint64(v3.Packets())
			dropped += uint64(v3.Drops())
		}
	}
	return received, dropped
}

// Close stops capturing.
func (s *Source) Close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	s.wg.Wait()
	for _, h := range s.handles {
		h.Close()
	}
}
