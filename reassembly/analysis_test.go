package reassembly_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/reassembly"
)

// readSegments reads every TCP segment of a capture. Reading stops at the
// first damaged record, as tshark's does.
func readSegments(t testing.TB, rd *capture.Reader) []capture.Segment {
	t.Helper()
	var segs []capture.Segment
	for {
		var seg capture.Segment
		err := rd.Next(&seg)
		if errors.Is(err, io.EOF) {
			return segs
		}
		if err != nil {
			t.Logf("%s: reading stops: %v", rd.Name(), err)
			return segs
		}
		segs = append(segs, seg)
	}
}

// classify runs one Analyzer per conversation key over segs, in order, and
// returns the flags of every frame and the analyzers.
func classify(segs []capture.Segment) (map[int64]reassembly.Flags, map[capture.Key]*reassembly.Analyzer) {
	analyzers := make(map[capture.Key]*reassembly.Analyzer)
	flags := make(map[int64]reassembly.Flags)
	for i := range segs {
		key, fromHi := capture.KeyOf(&segs[i])
		a := analyzers[key]
		if a == nil {
			a = new(reassembly.Analyzer)
			analyzers[key] = a
		}
		dir := 0
		if fromHi {
			dir = 1
		}
		flags[segs[i].Frame] |= a.Classify(&segs[i], dir)
	}
	return flags, analyzers
}

// scenarioSegments scripts sc on its own connection and reads the capture back.
func scenarioSegments(t testing.TB, sc flagScenario) []capture.Segment {
	t.Helper()
	b := scenario.New(scenario.Options{})
	sc.script(b, b.Conn("10.0.0.1:40000", "10.0.0.2:80", sc.opts...))
	if err := b.Err(); err != nil {
		t.Fatalf("scenario: %v", err)
	}
	rd, err := capture.NewReader(sc.name, bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return readSegments(t, rd)
}

func TestClassifyScenarios(t *testing.T) {
	for _, sc := range flagScenarios {
		t.Run(sc.name, func(t *testing.T) {
			segs := scenarioSegments(t, sc)
			flags, analyzers := classify(segs)
			got := make(map[int64]reassembly.Flags)
			for frame, f := range flags {
				if f != 0 {
					got[frame] = f
				}
			}
			if diff := cmp.Diff(sc.want, got, cmp.Transformer("names", reassembly.Flags.String)); diff != "" {
				t.Errorf("flags by frame (-want +got):\n%s", diff)
			}
			if len(analyzers) != 1 {
				t.Fatalf("%d conversations, want 1", len(analyzers))
			}
			for _, a := range analyzers {
				if a.Restarts() != sc.restarts {
					t.Errorf("Restarts() = %d, want %d", a.Restarts(), sc.restarts)
				}
			}
		})
	}
}

func TestFirstRTT(t *testing.T) {
	for _, tt := range []struct {
		scenario string
		want     time.Duration
	}{
		{"retransmission", 20 * time.Millisecond},
		{"syn-retransmission", 20 * time.Millisecond}, // from the last SYN
		{"out-of-order-threshold-without-handshake", 0},
	} {
		i := slices.IndexFunc(flagScenarios, func(sc flagScenario) bool { return sc.name == tt.scenario })
		if i < 0 {
			t.Fatalf("no scenario %q", tt.scenario)
		}
		_, analyzers := classify(scenarioSegments(t, flagScenarios[i]))
		for _, a := range analyzers {
			if got := a.FirstRTT(); got != tt.want {
				t.Errorf("%s: FirstRTT() = %v, want %v", tt.scenario, got, tt.want)
			}
		}
	}
}

func TestFlagsString(t *testing.T) {
	for _, tt := range []struct {
		f     reassembly.Flags
		want  string
		names []string
	}{
		{0, "none", nil},
		{reassembly.Retransmission, "retransmission", []string{"retransmission"}},
		{reassembly.Retransmission | reassembly.FastRetransmission, "retransmission,fast-retransmission",
			[]string{"retransmission", "fast-retransmission"}},
		{reassembly.ZeroWindow | reassembly.ZeroWindowProbeAck, "zero-window,zero-window-probe-ack",
			[]string{"zero-window", "zero-window-probe-ack"}},
		{reassembly.WindowUpdate | 1<<15, "window-update,0x8000", []string{"window-update"}},
		{1 << 14, "0x4000", nil},
	} {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint16(tt.f), got, tt.want)
		}
		if diff := cmp.Diff(tt.names, tt.f.Names()); diff != "" {
			t.Errorf("Flags(%#x).Names() (-want +got):\n%s", uint16(tt.f), diff)
		}
	}
}

// TestFlagsIDs pins every flag's id: they are part of the output formats.
func TestFlagsIDs(t *testing.T) {
	want := []string{"retransmission", "fast-retransmission", "spurious-retransmission",
		"out-of-order", "lost-segment", "acked-unseen", "duplicate-ack", "zero-window",
		"zero-window-probe", "zero-window-probe-ack", "window-full", "keep-alive",
		"keep-alive-ack", "window-update"}
	var got []string
	for i := range 16 {
		got = append(got, reassembly.Flags(1<<i).Names()...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flag ids (-want +got):\n%s", diff)
	}
	b := reassembly.Flags(0).AppendTo([]byte("x"))
	if string(b) != "x" {
		t.Errorf("AppendTo of no flags appended %q", b[1:])
	}
}

// scenarioConns returns the segments of every flag scenario, one slice a
// connection, with each segment's direction: a workload with every finding.
func scenarioConns(t testing.TB) (conns [][]capture.Segment, dirs [][]int) {
	for _, sc := range flagScenarios {
		segs := scenarioSegments(t, sc)
		d := make([]int, len(segs))
		for i := range segs {
			if segs[i].Src.Port() == 80 {
				d[i] = 1
			}
		}
		conns, dirs = append(conns, segs), append(dirs, d)
	}
	return conns, dirs
}

func TestClassifyNoAllocs(t *testing.T) {
	conns, dirs := scenarioConns(t)
	var a reassembly.Analyzer
	var seen reassembly.Flags
	allocs := testing.AllocsPerRun(100, func() {
		for c, segs := range conns {
			a.Reset()
			for i := range segs {
				seen |= a.Classify(&segs[i], dirs[c][i])
			}
		}
	})
	if allocs != 0 {
		t.Errorf("Classify allocates %v times per workload, want 0", allocs)
	}
	if all := reassembly.Flags(1<<14 - 1); seen != all {
		t.Errorf("the workload shows %v, want every flag (missing %v)", seen, all&^seen)
	}
}

func BenchmarkClassify(b *testing.B) {
	conns, dirs := scenarioConns(b)
	n := 0
	for _, segs := range conns {
		n += len(segs)
	}
	b.ReportAllocs()
	var a reassembly.Analyzer
	for b.Loop() {
		for c, segs := range conns {
			a.Reset()
			for i := range segs {
				a.Classify(&segs[i], dirs[c][i])
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/segment")
}

func ExampleFlags_String() {
	f := reassembly.Retransmission | reassembly.FastRetransmission
	fmt.Println(f)
	fmt.Println(reassembly.Flags(0))
	// Output:
	// retransmission,fast-retransmission
	// none
}
