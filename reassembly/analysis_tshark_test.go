package reassembly_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/capture"
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
var tsharkAllow = map[allowKey]string{}

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
			if cols[2+i] != "" {
				f |= tf.flag
			}
		}
		got[frame] = f
	}
	return got
}

// classifyFile reads a capture and classifies every segment with one
// Analyzer per conversation key. Reading stops at the first damaged record,
// as tshark does.
func classifyFile(t testing.TB, file string) map[int64]reassembly.Flags {
	t.Helper()
	r, err := capture.Open(file)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer r.Close()
	analyzers := make(map[capture.Key]*reassembly.Analyzer)
	got := make(map[int64]reassembly.Flags)
	var seg capture.Segment
	for {
		err := r.Next(&seg)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Logf("%s: reading stops: %v", file, err)
			}
			return got
		}
		key, fromHi := capture.KeyOf(&seg)
		a := analyzers[key]
		if a == nil {
			a = new(reassembly.Analyzer)
			analyzers[key] = a
		}
		dir := 0
		if fromHi {
			dir = 1
		}
		got[seg.Frame] |= a.Classify(&seg, dir)
	}
}

// differentialCaptures returns the captures compared with tshark.
func differentialCaptures(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../shared/captures/*.pcap*", "../testdata/*.pcap*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no captures found")
	}
	return files
}

// compareWithTshark compares the flags of every frame of file with tshark's
// and returns the disagreements, keyed like the allow-list, and the number
// of frames compared.
func compareWithTshark(t *testing.T, tshark, file string) (map[allowKey]string, int) {
	want := tsharkFlags(t, tshark, file)
	got := classifyFile(t, file)
	frames := make([]int64, 0, len(want)+len(got))
	for f := range want {
		frames = append(frames, f)
	}
	for f := range got {
		if _, ok := want[f]; !ok {
			frames = append(frames, f)
		}
	}
	slices.Sort(frames)
	diffs := make(map[allowKey]string)
	base := filepath.Base(file)
	for _, frame := range frames {
		w, g := want[frame], got[frame]
		for _, tf := range tsharkFields {
			if w&tf.flag == g&tf.flag {
				continue
			}
			diffs[allowKey{base, frame, tf.flag}] = fmt.Sprintf("%s frame %d: %v: tshark %v, tcplens %v (tshark all: %v, tcplens all: %v)",
				base, frame, tf.flag, w.Has(tf.flag), g.Has(tf.flag), w, g)
		}
	}
	return diffs, len(frames)
}

func TestClassifyMatchesTshark(t *testing.T) {
	tshark := tsharkPath(t)
	total := 0
	seen := make(map[allowKey]bool)
	for _, file := range differentialCaptures(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			diffs, n := compareWithTshark(t, tshark, file)
			total += n
			keys := make([]allowKey, 0, len(diffs))
			for k := range diffs {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(a, b allowKey) int {
				if a.frame != b.frame {
					return int(a.frame - b.frame)
				}
				return int(a.flag) - int(b.flag)
			})
			for _, k := range keys {
				if _, ok := tsharkAllow[k]; ok {
					seen[k] = true
					continue
				}
				t.Errorf("%s", diffs[k])
			}
		})
	}
	for k, why := range tsharkAllow {
		if !seen[k] && !t.Failed() {
			t.Errorf("allow-list entry %s frame %d %v (%s) no longer disagrees: remove it", k.file, k.frame, k.flag, why)
		}
	}
	t.Logf("compared %d frames with tshark", total)
}
