package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	p := &progress{name: "big.pcap", total: 100e6}
	p.update(50e6, 2e6, 8213)
	got := p.line(2 * time.Second)
	want := "big.pcap [##########..........] 50.0 MB of 100.0 MB (50%)  1.00 M packets/s  8213 open"
	if got != want {
		t.Errorf("line:\n got %q\nwant %q", got, want)
	}
}

// bigCapture writes a pcap of n SYNs from distinct ports, 70 bytes a record.
func bigCapture(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	b.Write(hdr)
	frame := make([]byte, 54)
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	ip := frame[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	copy(ip[12:], []byte{10, 0, 0, 1})
	copy(ip[16:], []byte{10, 0, 0, 2})
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[2:], 80)
	tcp[12], tcp[13] = 5<<4, 0x02
	rec := make([]byte, 16)
	for i := range n {
		binary.LittleEndian.PutUint32(rec[0:], uint32(1700000000+i/1000))
		binary.LittleEndian.PutUint32(rec[4:], uint32(i%1000)*1000)
		binary.LittleEndian.PutUint32(rec[8:], 54)
		binary.LittleEndian.PutUint32(rec[12:], 54)
		binary.BigEndian.PutUint16(tcp[0:], uint16(1024+i%60000))
		binary.BigEndian.PutUint32(tcp[4:], uint32(i))
		b.Write(rec)
		b.Write(frame)
	}
	path := filepath.Join(t.TempDir(), "big.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The bar is drawn on a terminal (script(1) gives the command one), and
// not with --quiet or when stderr is not a terminal.
func TestProgressBarOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed: no way to give the command a terminal")
	}
	bin := buildTcplens(t)
	file := bigCapture(t, 160000) // 11 MB
	onTerminal := func(args string) string {
		t.Helper()
		out, err := exec.Command(script, "-qec", bin+" "+args+" "+file+" >/dev/null", "/dev/null").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := onTerminal("read -o ndjson")
	for _, want := range []string{"big.pcap [", "MB of 11.2 MB", "packets/s", "open", "\x1b[K"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output has no %q:\n%q", want, out)
		}
	}
	if out := onTerminal("anomalies"); !strings.Contains(out, "packets/s") {
		t.Errorf("anomalies draws no bar:\n%q", out)
	}
	if out := onTerminal("read --quiet -o ndjson"); strings.Contains(out, "packets/s") {
		t.Errorf("--quiet still draws a bar:\n%q", out)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "read", "-o", "ndjson", file)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if stderr.Len() != 0 {
		t.Errorf("a bar on a stderr that is not a terminal: %q", stderr.String())
	}
}
