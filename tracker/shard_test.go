package tracker_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/internal/synthcorpus"
	"github.com/tcplens/tcplens/internal/testcaptures"
	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

// records tracks a capture with one Tracker (workers 0) or a Sharded with
// that many workers and returns the NDJSON of what was handed on, in order.
// With release, every connection is released for reuse once formatted.
func records(t *testing.T, file string, workers int, release bool) ([]byte, int64) {
	return recordsWith(t, file, workers, release, false, false)
}

// recordsWith is records, parking SYN-only connections if park, and with
// the records' tails formatted by Config.Prepare (on the workers) if
// prepare.
func recordsWith(t *testing.T, file string, workers int, release, park, prepare bool) ([]byte, int64) {
	t.Helper()
	r, err := capture.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cfg := linux(t)
	cfg.Park = park
	if prepare {
		cfg.Prepare = report.PrepareConn
	}
	var out []byte
	var heads report.Heads
	var rel func(*tracker.Conn)
	emit := func(c *tracker.Conn) {
		out = heads.AppendPrepared(out, file, c)
		if release {
			rel(c)
		}
	}
	var track func(*capture.Segment)
	var flush func()
	var late func() int64
	var scratch capture.Segment
	slot := func() *capture.Segment { return &scratch }
	if workers == 0 {
		tr := tracker.New(cfg, emit)
		track, flush, late, rel = tr.Track, tr.Flush, tr.Late, tr.Release
	} else {
		// Decoded in place into the batch, as read does.
		tr := tracker.NewSharded(cfg, workers, emit)
		track, late, rel, slot = tr.Track, tr.Late, tr.Release, tr.Slot
		flush = func() {
			tr.Flush()
			partsMerged += tr.PartsMerged()
		}
	}
	for {
		seg := slot()
		if err := r.Next(seg); err != nil {
			break
		}
		track(seg)
	}
	flush()
	return out, late()
}

// partsMerged counts the parts the Shardeds of recordsWith merged.
var partsMerged int

// shardCaptures are the captures the sharded tracker is compared on: the
// repository's and the shared ones, and a synthetic mix of thousands of
// connections when the shared benchmark generator is there.
func shardCaptures(t *testing.T) []string {
	var files []string
	for _, f := range testcaptures.All(t) {
		if r, err := capture.Open(f); err == nil {
			r.Close()
			files = append(files, f)
		} else if !errors.Is(err, capture.ErrNotCapture) {
			t.Fatal(err)
		}
	}
	if synth := synthcorpus.Generate(t, 6000, 400, 7); synth != "" {
		files = append(files, synth)
	}
	return files
}

// The output does not depend on the number of workers, nor on whether the
// connections handed on are released for reuse: the same records, byte for
// byte, in the same order, with the same ids.
func TestShardedMatchesTracker(t *testing.T) {
	files := shardCaptures(t)
	for _, file := range files {
		want, wantLate := records(t, file, 0, false)
		for _, n := range []int{0, 1, 2, 3, 4} {
			for _, release := range []bool{false, true} {
				if n == 0 && !release {
					continue
				}
				got, gotLate := records(t, file, n, release)
				if !bytes.Equal(got, want) || gotLate != wantLate {
					t.Errorf("%s with %d workers (release %v): output differs from one tracker (%d vs %d bytes, late %d vs %d)%s",
						filepath.Base(file), n, release, len(got), len(want), gotLate, wantLate, firstDiff(got, want))
				}
			}
		}
	}
	t.Logf("%d captures compared", len(files))
}

func firstDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			j := 0
			for j < min(len(la[i]), len(lb[i])) && la[i][j] == lb[i][j] {
				j++
			}
			from := max(j-150, 0)
			return fmt.Sprintf("\nline %d, byte %d:\n got …%.300s\nwant …%.300s", i+1, j, la[i][from:], lb[i][from:])
		}
	}
	return ""
}

// With the records formatted on the workers, which send them on in parts
// as their chunks fill (here after every connection, so that the small
// captures send parts too, and the merge reads records of a chunk the
// worker is still appending to), the output is one tracker's.
func TestShardedPreparedMatchesTracker(t *testing.T) {
	defer tracker.SetPartChunks(0)()
	files := shardCaptures(t)
	before := partsMerged
	for _, file := range files {
		want, wantLate := records(t, file, 0, false)
		for _, n := range []int{1, 2, 3} {
			got, gotLate := recordsWith(t, file, n, true, true, true)
			if !bytes.Equal(got, want) || gotLate != wantLate {
				t.Errorf("%s prepared on %d workers: output differs (%d vs %d bytes, late %d vs %d)%s",
					filepath.Base(file), n, len(got), len(want), gotLate, wantLate, firstDiff(got, want))
			}
		}
	}
	if partsMerged == before {
		t.Error("no worker sent a part")
	}
}

// Parking SYN-only connections changes nothing that is handed on: the
// same records in the same order, with one tracker or several, with and
// without release.
func TestParkingMatchesTracker(t *testing.T) {
	files := shardCaptures(t)
	for _, file := range files {
		want, wantLate := records(t, file, 0, false)
		for _, n := range []int{0, 2} {
			for _, release := range []bool{false, true} {
				got, gotLate := recordsWith(t, file, n, release, true, false)
				if !bytes.Equal(got, want) || gotLate != wantLate {
					t.Errorf("%s parking, %d workers (release %v): output differs (%d vs %d bytes, late %d vs %d)%s",
						filepath.Base(file), n, release, len(got), len(want), gotLate, wantLate, firstDiff(got, want))
				}
			}
		}
	}
}

// Parking does happen: the SYN scan's unanswered SYNs are parked two
// seconds after they were sent, and replayed at the end.
func TestParkingParks(t *testing.T) {
	file := filepath.Join(testcaptures.SharedDir(t), "sanders__synscan.pcapng")
	r, err := capture.Open(file)
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	cfg := linux(t)
	cfg.Park = true
	emitted := 0
	tr := tracker.New(cfg, func(*tracker.Conn) { emitted++ })
	var seg capture.Segment
	for r.Next(&seg) == nil {
		tr.Track(&seg)
	}
	if tr.Parked() < 1000 || tr.Open() < tr.Parked() {
		t.Errorf("%d parked, %d open at the end of the SYN scan; want over 1000 parked", tr.Parked(), tr.Open())
	}
	tr.Flush()
	if tr.Parked() != 0 || emitted != 1994 {
		t.Errorf("after Flush: %d parked, %d handed on (want 0, 1994)", tr.Parked(), emitted)
	}
}

// Where the capture's times go backwards, every worker still runs on the
// capture's clock (the latest time seen so far), not on the latest time of
// its own segments. Between two runs of the timers (which give every
// worker the clock) a packet on one 4-tuple moves the clock on; then SYNs
// stamped earlier supersede connections on other 4-tuples, which are
// judged at the capture's clock (the time of their fin-retransmitted
// anomaly) as one tracker judges them, with any number of workers.
func TestShardedClockGoesBackwards(t *testing.T) {
	b := scenario.New(scenario.Options{})
	const n = 8
	for i := range n {
		c := b.Conn(fmt.Sprintf("10.0.0.1:%d", 40000+i), "10.0.0.2:80")
		c.Handshake()
		fin := c.Send(scenario.Client, "FA", 0)
		b.Advance(10 * time.Millisecond)
		c.Write(fin) // retransmitted
		c.Send(scenario.Server, "A", 0)
	}
	b.Advance(1100 * time.Millisecond)
	b.Conn("10.0.0.9:1", "10.0.0.2:80").Send(scenario.Client, "S", 0) // the timers run
	b.Advance(800 * time.Millisecond)
	// The clock moves on, on one other 4-tuple: one worker's.
	b.Conn("10.0.0.3:50000", "10.0.0.2:80").Send(scenario.Client, "S", 0)
	b.Advance(-500 * time.Millisecond)
	for i := range n { // new incarnations, stamped before the clock
		b.Conn(fmt.Sprintf("10.0.0.1:%d", 40000+i), "10.0.0.2:80", scenario.ISN(900000, 700000)).Send(scenario.Client, "S", 0)
	}
	file := filepath.Join(t.TempDir(), "backwards.pcap")
	if err := b.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	want, wantLate := records(t, file, 0, false)
	if !bytes.Contains(want, []byte(`"fin-retransmitted"`)) {
		t.Fatalf("no fin-retransmitted anomaly in:\n%s", want)
	}
	for _, n := range []int{2, 3, 4} {
		got, gotLate := records(t, file, n, true)
		if !bytes.Equal(got, want) || gotLate != wantLate {
			t.Errorf("%d workers: output differs from one tracker (%d vs %d bytes, late %d vs %d)%s",
				n, len(got), len(want), gotLate, wantLate, firstDiff(got, want))
		}
	}
}
