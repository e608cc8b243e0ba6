package filter

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// node is a parsed expression.
type node interface{}

type (
	andNode struct{ a, b node }
	orNode  struct{ a, b node }
	notNode struct{ a node }
	// protoNode is tcp, ip or ip6.
	protoNode struct{ name string }
	// primNode is [src|dst] host|net|port|portrange VALUE.
	primNode struct {
		dir    string // "", "src" or "dst"
		kind   string // host, net, port, portrange
		prefix netip.Prefix
		lo, hi uint16
	}
)

// parse reads the subset's grammar:
//
//	expr    = and { ("or" | "||") and }
//	and     = unary { ("and" | "&&") unary }
//	unary   = ("not" | "!") unary | "(" expr ")" | prim
//	prim    = proto [ [dir] kind value ] | [dir] kind value
func parse(expr string) (node, error) {
	p := &parser{expr: expr, toks: tokenize(expr)}
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("filter %q: empty expression", expr)
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.i])
	}
	return n, nil
}

type parser struct {
	expr string
	toks []string
	i    int
}

func tokenize(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')' || c == '!':
			toks = append(toks, string(c))
			i++
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||"):
			toks = append(toks, s[i:i+2])
			i += 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()!&|", rune(s[j])) {
				j++
			}
			if j == i { // a lone & or |
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("filter %q: %s; without tcpdump installed tcplens understands only [src|dst] host, net, port and portrange, tcp, ip, ip6, and, or, not and parentheses (install tcpdump for the full language)", p.expr, fmt.Sprintf(format, args...))
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) or() (node, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t == "or" || t == "||"; t = p.peek() {
		p.i++
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		a = orNode{a, b}
	}
	return a, nil
}

func (p *parser) and() (node, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t == "and" || t == "&&"; t = p.peek() {
		p.i++
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		a = andNode{a, b}
	}
	return a, nil
}

func (p *parser) unary() (node, error) {
	switch t := p.peek(); t {
	case "not", "!":
		p.i++
		a, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{a}, nil
	case "(":
		p.i++
		a, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, p.errorf("missing )")
		}
		p.i++
		return a, nil
	case "":
		return nil, p.errorf("expression ends too early")
	}
	return p.prim()
}

func (p *parser) prim() (node, error) {
	t := p.peek()
	if t == "tcp" || t == "ip" || t == "ip6" {
		p.i++
		proto := protoNode{t}
		switch p.peek() {
		case "src", "dst", "host", "net", "port", "portrange":
			q, err := p.qualified()
			if err != nil {
				return nil, err
			}
			return andNode{proto, q}, nil
		}
		return proto, nil
	}
	return p.qualified()
}

func (p *parser) qualified() (node, error) {
	var n primNode
	if t := p.peek(); t == "src" || t == "dst" {
		n.dir = t
		p.i++
	}
	n.kind = p.peek()
	switch n.kind {
	case "host", "net", "port", "portrange":
	case "":
		return nil, p.errorf("expression ends too early")
	default:
		// A word the subset does not know (udp, vlan), or a bare value
		// (tcpdump's "port 80 or 443"), which the subset does not expand.
		if n.dir != "" {
			return nil, p.errorf("%q after %s is not host, net, port or portrange", n.kind, n.dir)
		}
		if n.kind[0] >= '0' && n.kind[0] <= '9' || strings.ContainsAny(n.kind, ".:") {
			return nil, p.errorf("%q has no primitive before it: give each value its own (\"port 80 or port 443\"); the subset does not carry the last one over as tcpdump does", n.kind)
		}
		return nil, p.errorf("%q is not in the subset", n.kind)
	}
	p.i++
	val := p.peek()
	p.i++
	if val == "" {
		return nil, p.errorf("%s needs a value", n.kind)
	}
	var err error
	switch n.kind {
	case "host":
		var a netip.Addr
		if a, err = netip.ParseAddr(val); err != nil {
			return nil, p.errorf("host %q is not an IP address (names are not looked up)", val)
		}
		n.prefix = netip.PrefixFrom(a, a.BitLen())
	case "net":
		if n.prefix, err = netip.ParsePrefix(val); err != nil {
			return nil, p.errorf("net %q is not address/length", val)
		}
		n.prefix = n.prefix.Masked()
	case "port":
		var v uint64
		if v, err = strconv.ParseUint(val, 10, 16); err != nil {
			return nil, p.errorf("port %q is not a number 0-65535 (names are not looked up)", val)
		}
		n.lo, n.hi = uint16(v), uint16(v)
	case "portrange":
		lo, hi, ok := strings.Cut(val, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil {
			return nil, p.errorf("portrange %q is not LOW-HIGH", val)
		}
		n.lo, n.hi = uint16(min(a, b)), uint16(max(a, b))
	default:
		if n.dir != "" {
			return nil, p.errorf("%q after %s is not host, net, port or portrange", n.kind, n.dir)
		}
		return nil, p.errorf("%q is not in the subset", n.kind)
	}
	return n, nil
}

// The code generator. Jumps name labels; labels are bound to instruction
// indices and resolved at the end. Every jump goes forward.

type label int

type insn struct {
	ins    bpf.Instruction // a JumpIf's skips are filled in from t and f
	jump   bool
	t, f   label
	labels []label // bound here
}

type gen struct {
	link   layers.LinkType
	l3     uint32 // offset of the network header
	code   []insn
	nlabel label
	bound  []label // labels waiting for the next instruction
}

func (g *gen) newLabel() label { g.nlabel++; return g.nlabel }

func (g *gen) bind(l label) { g.bound = append(g.bound, l) }

func (g *gen) emit(ins bpf.Instruction) {
	g.code = append(g.code, insn{ins: ins, labels: g.bound})
	g.bound = nil
}

func (g *gen) jump(cond bpf.JumpTest, val uint32, t, f label) {
	g.code = append(g.code, insn{ins: bpf.JumpIf{Cond: cond, Val: val}, jump: true, t: t, f: f, labels: g.bound})
	g.bound = nil
}

func (g *gen) ld(off uint32, size int) { g.emit(bpf.LoadAbsolute{Off: off, Size: size}) }

const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86dd
	etherARP  = 0x0806
	etherRARP = 0x8035
)

// compile compiles parsed expression n for link type link.
func compile(n node, link layers.LinkType) ([]bpf.RawInstruction, error) {
	g := &gen{link: link}
	switch link {
	case layers.LinkTypeEthernet:
		g.l3 = 14
	case layers.LinkTypeLinuxSLL:
		g.l3 = 16
	case 276: // SLL2
		g.l3 = 20
	case layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		g.l3 = 0
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		g.l3 = 4
	default:
		return nil, fmt.Errorf("filter: link type %d cannot be filtered without tcpdump", link)
	}
	accept, reject := g.newLabel(), g.newLabel()
	if err := g.node(n, accept, reject); err != nil {
		return nil, err
	}
	g.bind(accept)
	g.emit(bpf.RetConstant{Val: 262144})
	g.bind(reject)
	g.emit(bpf.RetConstant{Val: 0})
	return g.assemble()
}

func (g *gen) assemble() ([]bpf.RawInstruction, error) {
	at := map[label]int{}
	for i, in := range g.code {
		for _, l := range in.labels {
			at[l] = i
		}
	}
	prog := make([]bpf.Instruction, len(g.code))
	for i, in := range g.code {
		prog[i] = in.ins
		if !in.jump {
			continue
		}
		t, f := at[in.t]-i-1, at[in.f]-i-1
		if t < 0 || f < 0 || t > 255 || f > 255 {
			return nil, fmt.Errorf("filter: expression too long for a BPF jump")
		}
		j := in.ins.(bpf.JumpIf)
		j.SkipTrue, j.SkipFalse = uint8(t), uint8(f)
		prog[i] = j
	}
	if len(prog) > maxInstructions {
		return nil, fmt.Errorf("filter: expression too long (%d instructions)", len(prog))
	}
	return bpf.Assemble(prog)
}

func (g *gen) node(n node, t, f label) error {
	switch n := n.(type) {
	case andNode:
		mid := g.newLabel()
		if err := g.node(n.a, mid, f); err != nil {
			return err
		}
		g.bind(mid)
		return g.node(n.b, t, f)
	case orNode:
		mid := g.newLabel()
		if err := g.node(n.a, t, mid); err != nil {
			return err
		}
		g.bind(mid)
		return g.node(n.b, t, f)
	case notNode:
		return g.node(n.a, f, t)
	case protoNode:
		return g.proto(n.name, t, f)
	case primNode:
		return g.prim(n, t, f)
	}
	return fmt.Errorf("filter: internal error: node %T", n)
}

// family jumps to t if the frame carries the given ethertype's protocol.
func (g *gen) family(ethertype uint32, t, f label) {
	switch g.link {
	case layers.LinkTypeEthernet:
		g.ld(12, 2)
		g.jump(bpf.JumpEqual, ethertype, t, f)
	case layers.LinkTypeLinuxSLL:
		g.ld(14, 2)
		g.jump(bpf.JumpEqual, ethertype, t, f)
	case 276:
		g.ld(0, 2)
		g.jump(bpf.JumpEqual, ethertype, t, f)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// The address family, as tcpdump compiles it on Linux: AF_INET 2,
		// AF_INET6 10; NULL in little-endian order, LOOP in network order.
		var af uint32 = 0x100 // nothing else is IP here
		switch ethertype {
		case etherIPv4:
			af = 2
		case etherIPv6:
			af = 10
		}
		if g.link == layers.LinkTypeNull && af < 0x100 {
			af <<= 24
		}
		g.ld(0, 4)
		g.jump(bpf.JumpEqual, af, t, f)
	default: // raw IP: the IP version nibble
		var version uint32
		switch ethertype {
		case etherIPv4:
			version = 0x40
		case etherIPv6:
			version = 0x60
		default:
			g.ld(0, 1)
			g.jump(bpf.JumpEqual, 0x100, t, f) // never: no ARP here
			return
		}
		if g.link == layers.LinkTypeIPv4 || g.link == layers.LinkTypeIPv6 {
			ok := (g.link == layers.LinkTypeIPv4) == (version == 0x40)
			g.ld(0, 1)
			if ok {
				g.jump(bpf.JumpGreaterOrEqual, 0, t, f)
			} else {
				g.jump(bpf.JumpEqual, 0x100, t, f)
			}
			return
		}
		g.ld(g.l3, 1)
		g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
		g.jump(bpf.JumpEqual, version, t, f)
	}
}

func (g *gen) proto(name string, t, f label) error {
	switch name {
	case "ip":
		g.family(etherIPv4, t, f)
	case "ip6":
		g.family(etherIPv6, t, f)
	case "tcp":
		v4, v6, frag := g.newLabel(), g.newLabel(), g.newLabel()
		g.family(etherIPv4, v4, v6)
		g.bind(v4)
		g.ld(g.l3+9, 1)
		g.jump(bpf.JumpEqual, 6, t, f)
		g.bind(v6)
		ok6 := g.newLabel()
		g.family(etherIPv6, ok6, f)
		g.bind(ok6)
		g.ld(g.l3+6, 1)
		g.jump(bpf.JumpEqual, 6, t, frag)
		g.bind(frag)
		fragNext := g.newLabel()
		g.jump(bpf.JumpEqual, 44, fragNext, f)
		g.bind(fragNext)
		g.ld(g.l3+40, 1)
		g.jump(bpf.JumpEqual, 6, t, f)
	}
	return nil
}

func (g *gen) prim(n primNode, t, f label) error {
	switch n.kind {
	case "host", "net":
		return g.addr(n, t, f)
	}
	return g.port(n, t, f)
}

// addr compiles host and net.
func (g *gen) addr(n primNode, t, f label) error {
	a := n.prefix.Addr()
	if a.Is4() {
		want := binary.BigEndian.Uint32(a.AsSlice())
		mask := uint32(0xffffffff) << (32 - n.prefix.Bits())
		if n.prefix.Bits() == 0 {
			mask = 0
		}
		notIP, ok := g.newLabel(), g.newLabel()
		g.family(etherIPv4, ok, notIP)
		g.bind(ok)
		g.compareWords(n.dir, g.l3+12, g.l3+16, []uint32{want}, []uint32{mask}, t, f)
		g.bind(notIP)
		if g.l3 == 0 || g.link == layers.LinkTypeNull || g.link == layers.LinkTypeLoop {
			g.jumpAlways(f) // no ARP without an ethertype
			return nil
		}
		arp, rarp := g.newLabel(), g.newLabel()
		g.family(etherARP, arp, rarp)
		g.bind(rarp)
		g.jump(bpf.JumpEqual, etherRARP, arp, f)
		g.bind(arp)
		g.compareWords(n.dir, g.l3+14, g.l3+24, []uint32{want}, []uint32{mask}, t, f)
		return nil
	}
	b := a.As16()
	var want, mask [4]uint32
	for i := range 4 {
		want[i] = binary.BigEndian.Uint32(b[4*i:])
		bits := min(max(n.prefix.Bits()-32*i, 0), 32)
		if bits > 0 {
			mask[i] = uint32(0xffffffff) << (32 - bits)
		}
		want[i] &= mask[i]
	}
	ok := g.newLabel()
	g.family(etherIPv6, ok, f)
	g.bind(ok)
	g.compareWords(n.dir, g.l3+8, g.l3+24, want[:], mask[:], t, f)
	return nil
}

// jumpAlways jumps to l unconditionally (as a JumpIf that always holds).
func (g *gen) jumpAlways(l label) {
	g.jump(bpf.JumpGreaterOrEqual, 0, l, l)
}

// compareWords tests the address words at src (and/or dst, per dir)
// against want under mask. Jumps to t on a match; to fNoMatch when the
// last candidate fails.
func (g *gen) compareWords(dir string, src, dst uint32, want, mask []uint32, t, fNoMatch label) {
	var offs []uint32
	switch dir {
	case "src":
		offs = []uint32{src}
	case "dst":
		offs = []uint32{dst}
	default:
		offs = []uint32{src, dst}
	}
	for k, off := range offs {
		fail := fNoMatch
		if k < len(offs)-1 {
			fail = g.newLabel()
		}
		for i := range want {
			if mask[i] == 0 {
				continue
			}
			next := t
			if i < lastMasked(mask) {
				next = g.newLabel()
			}
			g.ld(off+4*uint32(i), 4)
			if mask[i] != 0xffffffff {
				g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask[i]})
			}
			g.jump(bpf.JumpEqual, want[i], next, fail)
			if next != t {
				g.bind(next)
			}
		}
		if lastMasked(mask) < 0 { // /0 matches anything of the family
			g.jumpAlways(t)
		}
		if fail != fNoMatch {
			g.bind(fail)
		}
	}
}

func lastMasked(mask []uint32) int {
	for i := len(mask) - 1; i >= 0; i-- {
		if mask[i] != 0 {
			return i
		}
	}
	return -1
}

// port compiles port and portrange for TCP, UDP and SCTP over IPv4 and
// IPv6, as tcpdump does (IPv4 fragments after the first never match).
func (g *gen) port(n primNode, t, f label) error {
	v4, l4v6, ok6 := g.newLabel(), g.newLabel(), g.newLabel()
	g.family(etherIPv6, ok6, v4)
	g.bind(ok6)
	g.ld(g.l3+6, 1)
	g.l4protos(l4v6, f)
	g.bind(l4v6)
	g.ports(n, func(off uint32) { g.ld(g.l3+40+off, 2) }, t, f)
	g.bind(v4)
	ok4, l4 := g.newLabel(), g.newLabel()
	g.family(etherIPv4, ok4, f)
	g.bind(ok4)
	g.ld(g.l3+9, 1)
	g.l4protos(l4, f)
	g.bind(l4)
	g.ld(g.l3+6, 2)
	first := g.newLabel()
	g.jump(bpf.JumpBitsSet, 0x1fff, f, first)
	g.bind(first)
	g.emit(bpf.LoadMemShift{Off: g.l3})
	g.ports(n, func(off uint32) { g.emit(bpf.LoadIndirect{Off: g.l3 + off, Size: 2}) }, t, f)
	return nil
}

// l4protos jumps to t when A holds SCTP, TCP or UDP.
func (g *gen) l4protos(t, f label) {
	n1, n2 := g.newLabel(), g.newLabel()
	g.jump(bpf.JumpEqual, 132, t, n1)
	g.bind(n1)
	g.jump(bpf.JumpEqual, 6, t, n2)
	g.bind(n2)
	g.jump(bpf.JumpEqual, 17, t, f)
}

// ports tests the source and/or destination port, loaded by load(0) and
// load(2), against n's range.
func (g *gen) ports(n primNode, load func(off uint32), t, f label) {
	var offs []uint32
	switch n.dir {
	case "src":
		offs = []uint32{0}
	case "dst":
		offs = []uint32{2}
	default:
		offs = []uint32{0, 2}
	}
	for k, off := range offs {
		fail := f
		if k < len(offs)-1 {
			fail = g.newLabel()
		}
		load(off)
		if n.lo == n.hi {
			g.jump(bpf.JumpEqual, uint32(n.lo), t, fail)
		} else {
			inLo := g.newLabel()
			g.jump(bpf.JumpGreaterOrEqual, uint32(n.lo), inLo, fail)
			g.bind(inLo)
			g.jump(bpf.JumpGreaterThan, uint32(n.hi), fail, t)
		}
		if fail != f {
			g.bind(fail)
		}
	}
}
