package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/netns"
)

// TestSoak drives as many short connections as it can through a veth pair
// for a while (TCPLENS_SOAK, e.g. 60s) while tcplens sniff watches one end,
// and reports what the generator made, what tcplens saw, the kernel's
// drops, tcplens's CPU time and peak memory. It is not part of the normal
// test run:
//
//	TCPLENS_SOAK=60s go test ./cmd/tcplens -run TestSoak -v -timeout 10m
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("TCPLENS_SOAK"))
	if err != nil {
		t.Skip("set TCPLENS_SOAK to a duration (e.g. 60s) to run the soak test")
	}
	if why := netns.Usable(); why != "" {
		t.Skip(why)
	}
	bin := buildTcplens(t)
	traffic := filepath.Join(t.TempDir(), "demotraffic")
	if out, err := exec.Command("go", "build", "-o", traffic, "../../internal/demotraffic").CombinedOutput(); err != nil {
		t.Fatalf("go build demotraffic: %v\n%s", err, out)
	}
	sfx := netns.Suffix()
	cns, sns := netns.New(t, "tl-soak-c-"+sfx), netns.New(t, "tl-soak-s-"+sfx)
	cif, sif := "tsc"+sfx, "tss"+sfx
	netns.Link(t, cns, cif, "10.217.0.1/24", sns, sif, "10.217.0.2/24")
	cns.Run("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=1024 65000")
	cns.Run("sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=1")
	sns.Run("sysctl", "-q", "-w", "net.core.somaxconn=4096")
	sns.Run("sysctl", "-q", "-w", "net.ipv4.tcp_max_syn_backlog=4096")

	server := sns.Command(traffic, "load-server", "-addr", "10.217.0.2:7100")
	sout, _ := server.StdoutPipe()
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = server.Process.Kill(); _ = server.Wait() }()
	if line, _ := bufio.NewReader(sout).ReadString('\n'); !strings.HasPrefix(line, "ready") {
		t.Fatalf("load-server: %q", line)
	}

	var stderr syncBuffer
	out, err := os.Create(filepath.Join(t.TempDir(), "records.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	args := []string{"sniff", "-i", cif, "--format", "ndjson", "--summary", "off"}
	if b := os.Getenv("TCPLENS_SOAK_BUFFER"); b != "" {
		args = append(args, "--buffer-size", b) // MiB
	}
	sniffer := cns.Command(bin, args...)
	sniffer.Stdout, sniffer.Stderr = out, &stderr
	if err := sniffer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sniffer.Process.Kill() }()
	waitFor(t, &stderr, "capturing on", 10*time.Second)

	load, err := cns.Command(traffic, "load", "-server", "10.217.0.2:7100", "-workers", "128", "-duration", d.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("load: %v\n%s", err, load)
	}
	time.Sleep(3 * time.Second) // the last connections' linger
	if err := sniffer.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := sniffer.Wait(); err != nil {
		t.Fatalf("sniff: %v\n%s", err, stderr.String())
	}
	ru := sniffer.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	info, _ := out.Stat()
	records := 0
	if f, err := os.Open(out.Name()); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			records++
		}
		f.Close()
	}
	summary := regexp.MustCompile(`(?m)^tcplens: \d+ packets.*$`).FindString(stderr.String())
	t.Logf("generator: %s", strings.TrimSpace(string(load)))
	t.Logf("tcplens: %s", summary)
	t.Logf("tcplens: %d records (%d MB of NDJSON), CPU %s over %s (%.0f%% of one core), peak RSS %d MB",
		records, info.Size()>>20, cpu.Round(time.Millisecond), d, 100*cpu.Seconds()/d.Seconds(), ru.Maxrss>>10)
	if records == 0 {
		t.Error("no connection reported")
	}
	fmt.Fprintln(os.Stderr)
}
