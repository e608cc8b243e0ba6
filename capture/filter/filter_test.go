package filter

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"

	"github.com/tcplens/tcplens/internal/testcaptures"
)

// frame is one packet of a test capture.
type frame struct {
	data []byte
	link layers.LinkType
}

// readFrames returns every frame of a pcap or pcapng file (optionally
// gzipped) with its link type.
func readFrames(t *testing.T, path string) []frame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil
		}
		r = bufio.NewReader(gz)
	}
	var frames []frame
	if ng, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions); err == nil {
		for {
			data, ci, err := ng.ReadPacketData()
			if err != nil {
				break
			}
			link := layers.LinkTypeEthernet
			if iface, err := ng.Interface(ci.InterfaceIndex); err == nil {
				link = iface.LinkType
			}
			frames = append(frames, frame{data, link})
		}
		return frames
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	br.Reset(f)
	r = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil
		}
		r = gz
	}
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return nil
	}
	for {
		data, _, err := pr.ReadPacketData()
		if err != nil {
			break
		}
		frames = append(frames, frame{data, pr.LinkType()})
	}
	return frames
}

// expressions cover every construct of the subset.
var expressions = []string{
	"tcp", "ip", "ip6", "not tcp",
	"port 80", "port 179", "src port 80", "dst port 80", "port 53",
	"portrange 1-1024", "src portrange 8000-9000", "dst portrange 40000-65535",
	"host 10.213.0.2", "src host 10.214.0.1", "dst host 10.214.0.1", "host 192.168.1.1",
	"net 10.0.0.0/8", "src net 10.214.0.0/16", "dst net 192.168.0.0/16", "net 0.0.0.0/0",
	"host 2001:db8::1", "net fe80::/10", "src net 2001::/16", "ip6 and net ::/0",
	"tcp port 80", "tcp and port 9001", "ip host 10.213.0.1", "ip6 port 443",
	"tcp and (port 80 or port 443)", "not (port 22 or port 23)", "!port 80 && tcp",
	"host 10.214.0.1 and not port 9001", "tcp or ip6", "(tcp) and ((port 179))",
}

func testCaptures(t *testing.T) []string {
	return testcaptures.All(t)
}

// The subset compiler's programs accept exactly the packets that
// tcpdump's own programs accept, on every frame of every test capture of a
// link type both handle. CI installs tcpdump, so this runs there.
func TestSubsetMatchesTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tcpdump not found and $CI is set: %v", err)
		}
		t.Skip("tcpdump not installed")
	}
	frames := map[layers.LinkType][]frame{}
	for _, file := range testCaptures(t) {
		for _, fr := range readFrames(t, file) {
			frames[fr.link] = append(frames[fr.link], fr)
		}
	}
	compared := 0
	for _, expr := range expressions {
		n, err := parse(expr)
		if err != nil {
			t.Errorf("%q: %v", expr, err)
			continue
		}
		for link, fs := range frames {
			theirs, err := CompileTcpdump(expr, link)
			if err != nil {
				continue // a link type tcpdump does not name
			}
			ours, err := compile(n, link)
			if err != nil {
				continue
			}
			tvm, err := bpf.NewVM(disassemble(theirs))
			if err != nil {
				t.Fatal(err)
			}
			ovm, err := bpf.NewVM(disassemble(ours))
			if err != nil {
				t.Fatalf("%q link %d: our program does not load: %v", expr, link, err)
			}
			diffs := 0
			for i, fr := range fs {
				a, _ := tvm.Run(fr.data)
				b, _ := ovm.Run(fr.data)
				compared++
				if (a > 0) != (b > 0) {
					diffs++
					if diffs <= 3 {
						t.Errorf("%q link %d frame %d: tcpdump's program says %v, ours %v", expr, link, i, a > 0, b > 0)
					}
				}
			}
		}
	}
	t.Logf("%d expression x frame pairs compared", compared)
}

// Expressions outside the subset are errors, never "match everything".
func TestSubsetRejects(t *testing.T) {
	for _, expr := range []string{
		"", "tcp[13] & 2 != 0", "ether host 00:11:22:33:44:55", "vlan", "udp", "greater 100",
		"port http", "host example.com", "port 80 or 443", "src and dst host 1.2.3.4", "(port 80",
		"port 80)", "host", "portrange 80", "net 10.0.0.0", "10.0.0.1", "tcp and", "not",
	} {
		if _, err := parse(expr); err == nil {
			t.Errorf("%q parsed; want an error", expr)
		} else if !strings.Contains(err.Error(), "filter") {
			t.Errorf("%q: error %q does not say it is about the filter", expr, err)
		}
	}
}

// A rejected expression says what is wrong with it, not that a word
// needs a value.
func TestSubsetErrorMessages(t *testing.T) {
	for expr, want := range map[string]string{
		"udp":                       `"udp" is not in the subset`,
		"vlan":                      `"vlan" is not in the subset`,
		"tcp and foo":               `"foo" is not in the subset`,
		"port 80 or 443":            `"443" has no primitive before it`,
		"host 10.0.0.1 or 10.0.0.2": `"10.0.0.2" has no primitive before it`,
		"src udp":                   `"udp" after src is not host, net, port or portrange`,
		"port":                      "port needs a value",
		"tcp and":                   "expression ends too early",
	} {
		if _, err := parse(expr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %s", expr, err, want)
		}
	}
}

// New uses tcpdump when asked and present, and the subset otherwise.
func TestNew(t *testing.T) {
	f, err := New("port 80 or port 443", false)
	if err != nil || f.Tcpdump {
		t.Fatalf("New without tcpdump: %+v, %v", f, err)
	}
	if _, err := New("tcp[13] & 2 != 0", false); err == nil {
		t.Error("subset accepted tcp[13]")
	}
	if _, err := exec.LookPath("tcpdump"); err == nil {
		f, err := New("tcp[13] & 2 != 0", true)
		if err != nil || !f.Tcpdump {
			t.Errorf("with tcpdump: %+v, %v", f, err)
		}
		if _, err := New("this is not a filter", true); err == nil || errors.Is(err, ErrNoTcpdump) {
			t.Errorf("tcpdump accepted garbage: %v", err)
		}
	}
}

// Match does not allocate once compiled.
func TestMatchNoAllocs(t *testing.T) {
	f, err := New("tcp and port 80", false)
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 64)
	f.Match(pkt, layers.LinkTypeEthernet)
	if n := testing.AllocsPerRun(100, func() { f.Match(pkt, layers.LinkTypeEthernet) }); n != 0 {
		t.Errorf("Match allocates %v times per packet", n)
	}
}

// FuzzParse: any string is an error or a program the kernel would load,
// never a panic.
func FuzzParse(f *testing.F) {
	for _, e := range expressions {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		n, err := parse(expr)
		if err != nil {
			return
		}
		for _, link := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL, 276, layers.LinkTypeNull} {
			prog, err := compile(n, link)
			if err != nil {
				continue
			}
			if _, err := bpf.NewVM(disassemble(prog)); err != nil {
				t.Fatalf("%q: program rejected by the VM: %v", expr, err)
			}
		}
	})
}
