// Command bench measures tcplens on the reference corpus and prints a
// Markdown table: packets per second on one core and on two, nanoseconds
// and allocations per packet, and peak resident memory at 2, 5 and 10
// million packets, beside gotrack, tshark and tcptrace on the same files
// when they are installed. It generates the corpus with
// ../shared/bench/synthgen when it is missing.
//
//	go run ./internal/bench                 # synth 2M, 5M, 10M
//	go run ./internal/bench -real           # and the real-kernel corpus (root)
//	go run ./internal/bench -sizes 2m -runs 1
//	go run ./internal/bench -sizes 20m,40m -others ""   # memory as the capture grows
//
// It is not part of go test: a run takes minutes, and timings belong in a
// benchmark, not in a test.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tcplens/tcplens/internal/synthcorpus"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "tcplens-bench"), "where the corpus is kept (generated if missing)")
	shared := flag.String("shared", "../shared/bench", "the shared benchmark folder (synthgen, gotrack, make-real.sh)")
	sizes := flag.String("sizes", "2m,5m,10m", "synthetic corpus sizes to measure, from 2m, 5m, 10m, 20m and 40m (20m and 40m: 2 and 4 GB)")
	others := flag.String("others", "2m", "sizes to run gotrack, tshark and tcptrace on (they are slow); empty for none")
	runs := flag.Int("runs", 3, "runs of each tcplens measurement; the median is reported")
	real := flag.Bool("real", false, "also measure the real-kernel corpus (make-real.sh: needs root, tcpdump and nft)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench: ")

	b := &bench{dir: *dir, runs: max(*runs, 1)}
	var err error
	if b.shared, err = filepath.Abs(*shared); err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(b.shared, "synthgen")); err != nil {
		log.Fatalf("no corpus generator at %s/synthgen (%v): run from the repository root with the shared benchmark folder beside it, or point -shared at it", b.shared, err)
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := b.build(); err != nil {
		log.Fatal(err)
	}
	files, err := b.corpus(strings.Split(*sizes, ","))
	if err != nil {
		log.Fatal(err)
	}
	if *real {
		f, err := b.realCorpus()
		if err != nil {
			log.Fatal(err)
		}
		files = append(files, f)
	}
	var rows []row
	for _, f := range files {
		r, err := b.tcplens(f)
		if err != nil {
			log.Fatal(err)
		}
		rows = append(rows, r...)
		if slices.Contains(strings.Split(*others, ","), f.label) {
			rows = append(rows, b.others(f)...)
		}
	}
	printTable(os.Stdout, b, rows)
}

type bench struct {
	dir, shared string
	runs        int
	tcplensBin  string
	gotrackBin  string // "" when it could not be built
}

// corpusFile is one capture of the corpus with its packet count.
type corpusFile struct {
	label, path string
	packets     int64
	bytes       int64
}

// row is one line of the table.
type row struct {
	tool, file  string
	packets     int64
	wall        time.Duration
	cpu         time.Duration
	rss         int64 // KiB
	mallocs     int64 // -1: unknown
	note        string
	failed      error
	compareRate float64 // the one-core rate on the same file, for the speedup
}

func (b *bench) build() error {
	b.tcplensBin = filepath.Join(b.dir, "tcplens")
	cmd := exec.Command("go", "build", "-o", b.tcplensBin, "./cmd/tcplens")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building tcplens (run from the repository root): %w", err)
	}
	gt := filepath.Join(b.dir, "gotrack")
	cmd = exec.Command("go", "build", "-o", gt, "./gotrack")
	cmd.Dir = b.shared
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Printf("gotrack not built (%v): %s", err, bytes.TrimSpace(out))
	} else {
		b.gotrackBin = gt
	}
	return nil
}

// cutSizes are the sizes cut from synth-10m.pcap, by packets.
var cutSizes = map[string]int64{"2m": 2_000_000, "5m": 5_000_000}

// generatedSizes are the sizes synthgen writes whole, by connections (at
// the reference corpus' rate, so the same traffic for longer): 10m is
// the reference corpus, 20m and 40m show that memory stays flat.
var generatedSizes = map[string]int{"10m": 800_000, "20m": 1_600_000, "40m": 3_200_000}

// generate writes synth-SIZE.pcap with synthgen unless it exists.
func (b *bench) generate(size string) (string, error) {
	path := filepath.Join(b.dir, "synth-"+size+".pcap")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	conns := generatedSizes[size]
	log.Printf("generating %s with synthgen (about %d s)", path, conns/60_000+5)
	if err := synthcorpus.Synthgen(b.shared, path, conns, 8000, 1, os.Stderr); err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// corpus returns the synthetic files of the given sizes, generating them
// with synthgen (2m and 5m are cut from synth-10m.pcap).
func (b *bench) corpus(sizes []string) ([]corpusFile, error) {
	var files []corpusFile
	for _, s := range sizes {
		s = strings.TrimSpace(s)
		n, cut := cutSizes[s]
		if _, ok := generatedSizes[s]; !ok && !cut {
			return nil, fmt.Errorf("unknown size %q: use 2m, 5m, 10m, 20m or 40m", s)
		}
		from := s
		if cut {
			from = "10m"
		}
		full, err := b.generate(from)
		if err != nil {
			return nil, err
		}
		path := full
		if cut {
			path = filepath.Join(b.dir, "synth-"+s+".pcap")
		}
		f, err := cutPcap(full, path, n)
		if err != nil {
			return nil, err
		}
		f.label = s
		files = append(files, f)
	}
	return files, nil
}

// cutPcap writes the first n records of the pcap file src to dst (n 0:
// all, and dst is src) and counts them; an existing dst is only counted.
func cutPcap(src, dst string, n int64) (corpusFile, error) {
	f := corpusFile{path: dst}
	in, err := os.Open(dst)
	write := false
	if err != nil {
		if in, err = os.Open(src); err != nil {
			return f, err
		}
		write = true
	}
	defer in.Close()
	r := bufio.NewReaderSize(in, 1<<20)
	var w *bufio.Writer
	var out *os.File
	if write {
		if out, err = os.Create(dst + ".tmp"); err != nil {
			return f, err
		}
		defer out.Close()
		w = bufio.NewWriterSize(out, 1<<20)
	}
	hdr := make([]byte, 24)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return f, fmt.Errorf("%s: %w", src, err)
	}
	order := binary.ByteOrder(binary.LittleEndian)
	switch binary.LittleEndian.Uint32(hdr) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return f, fmt.Errorf("%s: not a pcap file", src)
	}
	if w != nil {
		w.Write(hdr)
	}
	rec := make([]byte, 16)
	data := make([]byte, 0, 65536)
	for n == 0 || f.packets < n {
		if _, err := io.ReadFull(r, rec); err == io.EOF {
			break
		} else if err != nil {
			return f, fmt.Errorf("%s: record %d: %w", src, f.packets+1, err)
		}
		caplen := int(order.Uint32(rec[8:]))
		if cap(data) < caplen {
			data = make([]byte, caplen)
		}
		data = data[:caplen]
		if _, err := io.ReadFull(r, data); err != nil {
			return f, fmt.Errorf("%s: record %d: %w", src, f.packets+1, err)
		}
		if w != nil {
			w.Write(rec)
			w.Write(data)
		}
		f.packets++
	}
	if w != nil {
		if err := w.Flush(); err != nil {
			return f, err
		}
		if err := out.Close(); err != nil {
			return f, err
		}
		if err := os.Rename(dst+".tmp", dst); err != nil {
			return f, err
		}
	}
	st, err := os.Stat(dst)
	if err != nil {
		return f, err
	}
	f.bytes = st.Size()
	return f, nil
}

// realCorpus records the real-kernel corpus with make-real.sh if missing.
func (b *bench) realCorpus() (corpusFile, error) {
	path := filepath.Join(b.dir, "real-loopback.pcap")
	if _, err := os.Stat(path); err != nil {
		if os.Geteuid() != 0 {
			return corpusFile{}, errors.New("-real: make-real.sh needs root (network namespaces)")
		}
		log.Printf("recording %s with make-real.sh (a few minutes)", path)
		cmd := exec.Command("bash", "make-real.sh")
		cmd.Dir = b.shared
		cmd.Env = append(os.Environ(), "OUT="+path)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return corpusFile{}, fmt.Errorf("make-real.sh: %w", err)
		}
	}
	f, err := cutPcap(path, path, 0)
	f.label = "real"
	return f, err
}

// measure runs a command with stdout to /dev/null (or to w) and returns
// its wall time, CPU time, peak RSS and stderr.
func measure(name string, args []string, env []string, w io.Writer) (wall, cpu time.Duration, rss int64, stderr string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if w != nil {
		cmd.Stdout = w
	} else {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 0, 0, 0, "", err
		}
		defer null.Close()
		cmd.Stdout = null
	}
	var eb bytes.Buffer
	cmd.Stderr = &eb
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss
		}
	}
	if err != nil {
		err = fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, lastLine(eb.String()))
	}
	return wall, cpu, rss, eb.String(), err
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

var allocRE = regexp.MustCompile(`alloc-stats: mallocs=(\d+)`)

// tcplens measures read --format ndjson on one core and on two, the
// median of b.runs runs each, and checks that both print the same bytes.
// The runs alternate between one core and two, so that a machine that
// slows down or speeds up meanwhile (a shared one does) weighs on both
// alike.
func (b *bench) tcplens(f corpusFile) ([]row, error) {
	sums := map[int][32]byte{}
	cmdFor := func(workers int) ([]string, []string) {
		return []string{"read", "--format", "ndjson", "--quiet", "--alloc-stats", "--workers", strconv.Itoa(workers), f.path},
			[]string{"GOMAXPROCS=" + strconv.Itoa(workers)}
	}
	for _, workers := range []int{1, 2} {
		// One run whose output is hashed, untimed.
		h := sha256.New()
		args, env := cmdFor(workers)
		if _, _, _, _, err := measure(b.tcplensBin, args, env, h); err != nil {
			return nil, err
		}
		sums[workers] = [32]byte(h.Sum(nil))
	}
	got := map[int][]row{}
	for range b.runs {
		for _, workers := range []int{1, 2} {
			args, env := cmdFor(workers)
			log.Printf("tcplens --workers %d on %s", workers, filepath.Base(f.path))
			wall, cpu, rss, stderr, err := measure(b.tcplensBin, args, env, nil)
			if err != nil {
				return nil, err
			}
			r := row{tool: fmt.Sprintf("tcplens, %d core", workers), file: strings.TrimSuffix(filepath.Base(f.path), ".pcap"), packets: f.packets, wall: wall, cpu: cpu, rss: rss, mallocs: -1}
			if workers > 1 {
				r.tool = fmt.Sprintf("tcplens --workers %d, %d cores", workers, workers)
			}
			if m := allocRE.FindStringSubmatch(stderr); m != nil {
				r.mallocs, _ = strconv.ParseInt(m[1], 10, 64)
			}
			got[workers] = append(got[workers], r)
		}
	}
	var rows []row
	for _, workers := range []int{1, 2} {
		runs := got[workers]
		slices.SortFunc(runs, func(a, b row) int { return int(a.wall - b.wall) })
		rows = append(rows, runs[len(runs)/2])
	}
	rows[1].compareRate = rate(rows[0])
	rows[1].note = "output identical to 1 core"
	if sums[1] != sums[2] {
		rows[1].note = "OUTPUT DIFFERS from 1 core"
	}
	return rows, nil
}

// others runs gotrack, tshark and tcptrace once each on f.
func (b *bench) others(f corpusFile) []row {
	var rows []row
	try := func(tool, bin string, args ...string) {
		path, err := exec.LookPath(bin)
		if err != nil {
			rows = append(rows, row{tool: tool, file: strings.TrimSuffix(filepath.Base(f.path), ".pcap"), note: "not installed"})
			return
		}
		log.Printf("%s on %s", tool, filepath.Base(f.path))
		wall, cpu, rss, _, err := measure(path, args, nil, nil)
		rows = append(rows, row{tool: tool, file: strings.TrimSuffix(filepath.Base(f.path), ".pcap"), packets: f.packets, wall: wall, cpu: cpu, rss: rss, mallocs: -1, failed: err})
	}
	if b.gotrackBin != "" {
		try("gotrack (bare 4-tuple map)", b.gotrackBin, f.path)
	}
	try("tshark -q -z conv,tcp", "tshark", "-q", "-z", "conv,tcp", "-r", f.path)
	try("tcptrace -n -l", "tcptrace", "-n", "-l", f.path)
	return rows
}

func rate(r row) float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.packets) / r.wall.Seconds()
}

func printTable(w io.Writer, b *bench, rows []row) {
	fmt.Fprintf(w, "\n%s, %d CPUs, %s; median of %d runs for tcplens, one run for the others; page cache warm.\n\n",
		runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"), b.runs)
	fmt.Fprintln(w, "| tool | file | packets | wall time | packets/s | ns/packet (CPU) | allocs/packet | peak RSS | note |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		if r.packets == 0 || r.failed != nil {
			note := r.note
			if r.failed != nil {
				note = "failed: " + r.failed.Error()
			}
			fmt.Fprintf(w, "| %s | %s | | | | | | | %s |\n", r.tool, r.file, note)
			continue
		}
		allocs := ""
		if r.mallocs >= 0 {
			allocs = fmt.Sprintf("%.3f", float64(r.mallocs)/float64(r.packets))
		}
		note := r.note
		if r.compareRate > 0 {
			note = strings.TrimSpace(fmt.Sprintf("%.2f× the 1-core rate; %s", rate(r)/r.compareRate, note))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f s | %s | %.0f | %s | %.0f MB | %s |\n",
			r.tool, r.file, group(r.packets), r.wall.Seconds(), group(int64(rate(r))),
			float64(r.cpu.Nanoseconds())/float64(r.packets), allocs, float64(r.rss)/1024, note)
	}
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
