package reassembly_test

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/internal/testcaptures"
	"github.com/tcplens/tcplens/reassembly"
)

// tsharkFields maps each flag to the Wireshark field that reports it.
var tsharkFields = []struct {
	flag  reassembly.Flags
	field string
}{
	{reassembly.Retransmission, "tcp.analysis.retransmission"},
	{reassembly.FastRetransmission, "tcp.analysis.fast_retransmission"},
	{reassembly.SpuriousRetransmission, "tcp.analysis.spurious_retransmission"},
	{reassembly.OutOfOrder, "tcp.analysis.out_of_order"},
	{reassembly.LostSegment, "tcp.analysis.lost_segment"},
	{reassembly.AckedUnseen, "tcp.analysis.ack_lost_segment"},
	{reassembly.DuplicateAck, "tcp.analysis.duplicate_ack"},
	{reassembly.ZeroWindow, "tcp.analysis.zero_window"},
	{reassembly.ZeroWindowProbe, "tcp.analysis.zero_window_probe"},
	{reassembly.ZeroWindowProbeAck, "tcp.analysis.zero_window_probe_ack"},
	{reassembly.WindowFull, "tcp.analysis.window_full"},
	{reassembly.KeepAlive, "tcp.analysis.keep_alive"},
	{reassembly.KeepAliveAck, "tcp.analysis.keep_alive_ack"},
	{reassembly.WindowUpdate, "tcp.analysis.window_update"},
}

// allowKey names one flag of one frame of one capture (by base name).
type allowKey struct {
	file  string
	frame int64
	flag  reassembly.Flags
}

// tsharkAllow lists the disagreements with tshark that are understood, and
// why. Each entry must still be a disagreement: a stale one fails the test.
var tsharkAllow = map[allowKey]string{
	{"tcpdump__arcnet-rfc1201-arp-icmp-http.pcap", 17, reassembly.WindowUpdate}: "capture does not decode ARCNET (link type 129): tcplens sees no segment of this file",
}

// tsharkPath returns the tshark binary, skipping the test when there is
// none (failing it when $CI is set, where tshark must be installed).
func tsharkPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tshark not found and $CI is set: %v", err)
		}
		t.Skipf("tshark not found: %v", err)
	}
	return p
}

// tsharkFlags runs tshark on file and returns the analysis flags of every
// frame it dissects as TCP.
func tsharkFlags(t *testing.T, tshark, file string) map[int64]reassembly.Flags {
	t.Helper()
	args := []string{"-r", file, "-2", "-o", "tcp.relative_sequence_numbers:FALSE",
		"-Y", "tcp", "-T", "fields", "-e", "frame.number", "-e", "tcp.analysis.flags"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f.field)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tshark, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	got := make(map[int64]reassembly.Flags)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 2+len(tsharkFields) {
			t.Fatalf("tshark line %q: %d columns, want %d", sc.Text(), len(cols), 2+len(tsharkFields))
		}
		frame, err := strconv.ParseInt(cols[0], 10, 64)
		if err != nil {
			t.Fatalf("tshark line %q: frame number: %v", sc.Text(), err)
		}
		var f reassembly.Flags
		for i, tf := range tsharkFields {
			if cols[2+i] != "" { // a present field prints as 1
				f |= tf.flag
			}
		}
		if f != 0 && cols[1] == "" {
			t.Fatalf("tshark line %q: findings without tcp.analysis.flags: columns misread", sc.Text())
		}
		got[frame] = f
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// classifyFile reads a capture and classifies every segment with one
// Analyzer per conversation key.
func classifyFile(t testing.TB, file string) map[int64]reassembly.Flags {
	t.Helper()
	rd, err := capture.Open(file)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer rd.Close()
	flags, _ := classify(readSegments(t, rd))
	return flags
}

// scenarioCapture writes every flag scenario, each on its own client port,
// into one capture file in dir. It returns the file and, for messages, a
// function naming the scenario of a frame.
func scenarioCapture(t *testing.T, dir string) (string, func(frame int64) string) {
	t.Helper()
	b := scenario.New(scenario.Options{})
	firsts := make([]int64, len(flagScenarios)) // first frame of each scenario
	for i, sc := range flagScenarios {
		firsts[i] = int64(b.Frames() + 1)
		sc.script(b, b.Conn(fmt.Sprintf("10.0.0.1:%d", 40000+i), "10.0.0.2:80", sc.opts...))
		b.Advance(time.Minute)
	}
	file := filepath.Join(dir, "scenarios.pcap")
	if err := b.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	return file, func(frame int64) string {
		i, found := slices.BinarySearch(firsts, frame)
		if !found {
			i--
		}
		return fmt.Sprintf(" (scenario %s, its frame %d)", flagScenarios[i].name, frame-firsts[i]+1)
	}
}

// differentialCaptures returns the captures compared with tshark, with an
// optional function that describes a frame of it in messages.
func differentialCaptures(t *testing.T) map[string]func(int64) string {
	t.Helper()
	files := make(map[string]func(int64) string)
	for _, f := range testcaptures.All(t) {
		files[f] = nil
	}
	file, describe := scenarioCapture(t, t.TempDir())
	files[file] = describe
	return files
}

// compareWithTshark compares the flags of every frame of file with tshark's
// and returns the disagreements, keyed like the allow-list, and the number
// of frames compared.
func compareWithTshark(t *testing.T, tshark, file string, describe func(int64) string) (diffs map[allowKey]string, frames int, byFlag map[reassembly.Flags]int) {
	want := tsharkFlags(t, tshark, file)
	got := classifyFile(t, file)
	all := slices.Collect(maps.Keys(want))
	for f := range got {
		if _, ok := want[f]; !ok {
			all = append(all, f)
		}
	}
	diffs = make(map[allowKey]string)
	byFlag = make(map[reassembly.Flags]int)
	base := filepath.Base(file)
	for _, frame := range all {
		w, g := want[frame], got[frame]
		for _, tf := range tsharkFields {
			if w.Has(tf.flag) {
				byFlag[tf.flag]++
			}
			if w&tf.flag == g&tf.flag {
				continue
			}
			note := ""
			if describe != nil {
				note = describe(frame)
			}
			diffs[allowKey{base, frame, tf.flag}] = fmt.Sprintf("%s frame %d%s: %v: tshark %v, tcplens %v (tshark: %v; tcplens: %v)",
				base, frame, note, tf.flag, w.Has(tf.flag), g.Has(tf.flag), w, g)
		}
	}
	return diffs, len(all), byFlag
}

func TestClassifyMatchesTshark(t *testing.T) {
	tshark := tsharkPath(t)
	var (
		mu            sync.Mutex
		files, frames int
		byFlag        = make(map[reassembly.Flags]int)
		seen          = make(map[allowKey]bool)
	)
	t.Run("captures", func(t *testing.T) {
		captures := differentialCaptures(t)
		for _, file := range slices.Sorted(maps.Keys(captures)) {
			describe := captures[file]
			t.Run(filepath.Base(file), func(t *testing.T) {
				t.Parallel()
				diffs, n, counts := compareWithTshark(t, tshark, file, describe)
				mu.Lock()
				defer mu.Unlock()
				files, frames = files+1, frames+n
				for f, c := range counts {
					byFlag[f] += c
				}
				for _, k := range slices.SortedFunc(maps.Keys(diffs), compareAllowKeys) {
					if _, ok := tsharkAllow[k]; ok {
						seen[k] = true
						continue
					}
					t.Errorf("%s", diffs[k])
				}
			})
		}
	})
	if t.Failed() {
		return
	}
	for _, k := range slices.SortedFunc(maps.Keys(tsharkAllow), compareAllowKeys) {
		if !seen[k] {
			t.Errorf("allow-list entry %s frame %d %v (%s) no longer disagrees: remove it", k.file, k.frame, k.flag, tsharkAllow[k])
		}
	}
	var tally []string
	for _, tf := range tsharkFields {
		tally = append(tally, fmt.Sprintf("%v %d", tf.flag, byFlag[tf.flag]))
	}
	t.Logf("compared %d frames of %d captures with tshark; tshark's findings: %s", frames, files, strings.Join(tally, ", "))
}

func compareAllowKeys(a, b allowKey) int {
	return cmp.Or(strings.Compare(a.file, b.file), cmp.Compare(a.frame, b.frame), cmp.Compare(a.flag, b.flag))
}
