package reassembly_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/scenario"
)

func dumpTshark(t *testing.T, name string, b *scenario.Builder) {
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	p := "/tmp/exp_" + name + ".pcap"
	os.WriteFile(p, b.Bytes(), 0o644)
	out, _ := exec.Command("tshark", "-r", p, "-2", "-o", "tcp.relative_sequence_numbers:FALSE", "-Y", "tcp", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.flags.str", "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len", "-e", "tcp.window_size_value", "-e", "_ws.expert.message").Output()
	fmt.Printf("== %s\n%s", name, out)
	got := classifyFile(t, p)
	for i := int64(1); i <= int64(b.Frames()); i++ {
		fmt.Printf("  ours %d: %v\n", i, got[i])
	}
}

func TestZZExp2(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	{ // spurious vs OOO
		b := scenario.New(scenario.Options{})
		c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
		c.Send(scenario.Client, "PA", 100)
		b.Advance(time.Millisecond)
		c.Send(scenario.Client, "PA", 100)
		b.Advance(time.Millisecond)
		c.Send(scenario.Server, "A", 0)
		p := c.Segment(scenario.Client, "PA", 100)
		p.Seq -= 200
		c.Write(p)
		dumpTshark(t, "spurious_ooo", b)
	}
	{ // FIN OOO
		b := scenario.New(scenario.Options{})
		c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
		c.Send(scenario.Client, "PA", 100)
		b.Advance(time.Millisecond)
		p := c.Send(scenario.Client, "FA", 0)
		b.Advance(time.Millisecond)
		c.Write(p)
		dumpTshark(t, "fin_ooo", b)
	}
	{ // window full first ack
		b := scenario.New(scenario.Options{})
		c := b.Conn("10.0.0.1:40000", "10.0.0.2:80", scenario.Window(1000, 100))
		c.Handshake()
		b.Advance(time.Millisecond)
		c.Send(scenario.Client, "PA", 100)
		b.Advance(time.Millisecond)
		c.Send(scenario.Server, "A", 0)
		c.Send(scenario.Client, "PA", 12800)
		dumpTshark(t, "winfull", b)
	}
	{ // reuse without FIN
		b := scenario.New(scenario.Options{})
		c := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
		c.Handshake()
		b.Advance(time.Millisecond)
		c.Send(scenario.Client, "PA", 100)
		b.Advance(time.Second)
		c.SetNext(scenario.Client, 900000)
		c.Send(scenario.Client, "S", 0)
		c.SetNext(scenario.Server, 700000)
		c.Send(scenario.Server, "SA", 0)
		c.Send(scenario.Client, "A", 0)
		b.Advance(time.Second)
		p := c.Segment(scenario.Client, "S", 0)
		p.Seq = 900000
		c.Write(p)
		dumpTshark(t, "reuse", b)
	}
}
