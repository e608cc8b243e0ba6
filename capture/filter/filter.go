// Package filter selects packets with tcpdump's filter syntax, the same
// way for a live capture (in the kernel) and for a file (in a BPF virtual
// machine), so that both select the same packets.
//
// When tcpdump is installed, expressions are compiled by it (tcpdump -ddd),
// so the whole pcap-filter language is available. Without it, a documented
// subset is compiled here, and anything outside it is an error: a filter
// is never silently taken to mean "everything".
//
// The subset: the primitives host, net (CIDR or address/len), port,
// portrange, with an optional src or dst in front (src or dst only, not
// "src and dst" lists); the protocols tcp, ip and ip6; and, or, not (also
// &&, ||, !) and parentheses. "host 10.0.0.1 and not port 22" is in it;
// "tcp[13] & 2 != 0", "ether host …", "vlan" and "greater 100" are not.
package filter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// ErrNoTcpdump is returned by CompileTcpdump when tcpdump is not installed.
var ErrNoTcpdump = errors.New("tcpdump is not installed")

// linkNames are tcpdump's names (-y) for the link types tcplens decodes.
var linkNames = map[layers.LinkType]string{
	layers.LinkTypeEthernet: "EN10MB",
	layers.LinkTypeRaw:      "RAW",
	12:                      "RAW",
	14:                      "RAW",
	layers.LinkTypeLinuxSLL: "LINUX_SLL",
	276:                     "LINUX_SLL2",
	layers.LinkTypeNull:     "NULL",
	layers.LinkTypeLoop:     "LOOP",
	layers.LinkTypeIPv4:     "IPV4",
	layers.LinkTypeIPv6:     "IPV6",
}

// CompileTcpdump compiles expr for link type link with tcpdump -ddd.
func CompileTcpdump(expr string, link layers.LinkType) ([]bpf.RawInstruction, error) {
	path, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, ErrNoTcpdump
	}
	name := linkNames[link]
	if name == "" {
		return nil, fmt.Errorf("filter %q: link type %d cannot be filtered", expr, link)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(path, "-ddd", "-y", name, expr)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimPrefix(msg, "tcpdump: ")
		return nil, fmt.Errorf("filter %q: %s", expr, msg)
	}
	return parseDDD(out)
}

// parseDDD reads tcpdump -ddd output: a count, then "code jt jf k" lines.
func parseDDD(out []byte) ([]bpf.RawInstruction, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	if !sc.Scan() {
		return nil, errors.New("tcpdump -ddd printed nothing")
	}
	n, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
	if err != nil || n <= 0 || n > maxInstructions {
		return nil, fmt.Errorf("tcpdump -ddd: bad instruction count %q", sc.Text())
	}
	prog := make([]bpf.RawInstruction, 0, n)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			return nil, fmt.Errorf("tcpdump -ddd: bad line %q", sc.Text())
		}
		var v [4]uint64
		for i, s := range f {
			if v[i], err = strconv.ParseUint(s, 10, 32); err != nil {
				return nil, fmt.Errorf("tcpdump -ddd: bad line %q", sc.Text())
			}
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])})
	}
	if len(prog) != n {
		return nil, fmt.Errorf("tcpdump -ddd: %d instructions, announced %d", len(prog), n)
	}
	return prog, nil
}

// Filter is a compiled expression. Match runs it on a frame of a given
// link type; programs are compiled per link type on first use.
type Filter struct {
	Expr string
	// Tcpdump reports whether tcpdump compiled the expression (else the
	// built-in subset did).
	Tcpdump bool
	expr    node
	vms     map[layers.LinkType]*bpf.VM
	errs    map[layers.LinkType]error
}

// New parses expr. With useTcpdump, and tcpdump installed, tcpdump
// compiles it (checked here for link type Ethernet); otherwise the subset
// compiler does, and an expression outside the subset is an error.
func New(expr string, useTcpdump bool) (*Filter, error) {
	f := &Filter{Expr: expr, vms: map[layers.LinkType]*bpf.VM{}, errs: map[layers.LinkType]error{}}
	if useTcpdump {
		prog, err := CompileTcpdump(expr, layers.LinkTypeEthernet)
		switch {
		case err == nil:
			vm, verr := bpf.NewVM(disassemble(prog))
			if verr != nil {
				return nil, fmt.Errorf("filter %q: %v", expr, verr)
			}
			f.Tcpdump = true
			f.vms[layers.LinkTypeEthernet] = vm
			return f, nil
		case !errors.Is(err, ErrNoTcpdump):
			return nil, err
		}
	}
	n, err := parse(expr)
	if err != nil {
		return nil, err
	}
	f.expr = n
	return f, nil
}

// Program returns the classic BPF program of the filter for link type
// link, to attach to a socket.
func (f *Filter) Program(link layers.LinkType) ([]bpf.RawInstruction, error) {
	if f.Tcpdump {
		return CompileTcpdump(f.Expr, link)
	}
	return compile(f.expr, link)
}

// Match reports whether frame data of link type link passes the filter.
// It does not allocate once the program for link is compiled.
func (f *Filter) Match(data []byte, link layers.LinkType) bool {
	vm := f.vms[link]
	if vm == nil {
		if f.errs[link] != nil {
			return false
		}
		prog, err := f.Program(link)
		if err == nil {
			vm, err = bpf.NewVM(disassemble(prog))
		}
		if err != nil {
			f.errs[link] = err
			return false
		}
		f.vms[link] = vm
	}
	n, err := vm.Run(data)
	return err == nil && n > 0
}

// Err returns the error that kept the filter from compiling for link, if
// any: frames of that link type never match.
func (f *Filter) Err(link layers.LinkType) error { return f.errs[link] }

func disassemble(prog []bpf.RawInstruction) []bpf.Instruction {
	out := make([]bpf.Instruction, len(prog))
	for i, r := range prog {
		out[i] = r.Disassemble()
	}
	return out
}

// maxInstructions is the kernel's limit on a classic BPF program
// (BPF_MAXINSNS).
const maxInstructions = 4096
