package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/internal/testcaptures"
	"github.com/tcplens/tcplens/tracker"
)

// drawLadder draws every connection of file with held drawings kept in
// memory up to held bytes, and spilled ones written to the file in chunks
// of chunk bytes.
func drawLadder(t *testing.T, file string, held, chunk int) (string, error) {
	t.Helper()
	defer func(h, c int) { ladderHeld, spillChunk = h, c }(ladderHeld, spillChunk)
	ladderHeld, spillChunk = held, chunk
	l, tr, out, err := trackLadder(file, nil, false)
	if err != nil {
		return "", err
	}
	tr.Flush()
	err = l.Close(Summary{File: file})
	if l.spill.f != nil {
		t.Errorf("%s: the spill file is still open after Close", file)
	}
	return out.String(), err
}

// trackLadder tracks every segment of file into a Ladder of the
// connections ids (all without) that keeps its drawings if keep, and
// leaves the tracker unflushed.
func trackLadder(file string, ids []uint64, keep bool) (*Ladder, *tracker.Tracker, *bytes.Buffer, error) {
	r, err := capture.Open(file)
	if err != nil {
		return nil, nil, nil, err
	}
	defer r.Close()
	out := new(bytes.Buffer)
	l := NewLadder(out, file, ids)
	if keep {
		l.Keep()
	}
	cfg, _ := tracker.Profile("linux")
	tr := tracker.New(cfg, l.Finish)
	tr.OnStep(l.Step)
	var seg capture.Segment
	for r.Next(&seg) == nil {
		tr.Track(&seg)
	}
	return l, tr, out, nil
}

// A connection that finishes while an earlier one is still open waits for
// its turn drawn to text: in memory up to ladderHeld bytes, beyond that in
// a temporary file. Whichever holds it, every capture's ladders come out
// the same, and no file is left behind.
func TestLadderSpillsHeldConnections(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	spilled := 0
	for _, file := range testcaptures.All(t) {
		inMemory, err := drawLadder(t, file, 1<<40, spillChunk)
		if errors.Is(err, capture.ErrNotCapture) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := drawLadder(t, file, 0, 1) // each written at once
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if onDisk != inMemory {
			t.Errorf("%s: the ladders differ when held connections go to a file", filepath.Base(file))
		}
		if strings.Count(inMemory, "\nconnection ") > 1 {
			spilled++
		}
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Fatalf("%s: %d files left in TMPDIR, first %s", file, len(left), left[0].Name())
		}
	}
	if spilled == 0 {
		t.Fatal("no capture with more than one connection")
	}
}

// heldCapture writes a capture whose first connection stays open while
// six others finish behind it, and returns its path.
func heldCapture(t *testing.T) string {
	t.Helper()
	b := scenario.New(scenario.Options{})
	long := b.Conn("10.0.0.1:39999", "10.0.0.2:80")
	long.Handshake()
	for i := range 6 {
		c := b.Conn(fmt.Sprintf("10.0.0.1:%d", 40000+i), "10.0.0.2:80")
		c.Handshake()
		c.Send(scenario.Client, "PA", 10*(i+1))
		c.Send(scenario.Server, "A", 0)
		c.Send(scenario.Client, "RA", 0)
		b.Advance(3 * time.Second) // past the linger: handed on while the long one is open
		long.Send(scenario.Client, "PA", 100)
		long.Send(scenario.Server, "A", 0)
	}
	long.Send(scenario.Client, "RA", 0)
	file := filepath.Join(t.TempDir(), "held.pcap")
	if err := b.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	return file
}

// heldLadders writes heldCapture's capture, with TMPDIR a directory of the
// test's, and returns its path and its ladders drawn all in memory.
func heldLadders(t *testing.T) (file, whole string) {
	t.Helper()
	t.Setenv("TMPDIR", t.TempDir())
	file = heldCapture(t)
	whole, err := drawLadder(t, file, 1<<40, spillChunk)
	if err != nil {
		t.Fatal(err)
	}
	return file, whole
}

// Connections that finish behind a long one come out in # order, the same
// whether they waited in memory, in the file, or partly in each.
func TestLadderHeldInOrder(t *testing.T) {
	file, whole := heldLadders(t)
	var at []int
	for id := 1; id <= 7; id++ {
		i := strings.Index(whole, fmt.Sprintf("connection %d: ", id))
		if i < 0 || len(at) > 0 && i < at[len(at)-1] {
			t.Fatalf("connection %d missing or out of order:\n%s", id, whole)
		}
		at = append(at, i)
	}
	one := at[3] - at[2]
	for _, held := range []int{0, one, 2 * one} {
		// Written to the file each at once, two at a time, or all at the end.
		for _, chunk := range []int{1, one + 1, 1 << 20} {
			got, err := drawLadder(t, file, held, chunk)
			if err != nil {
				t.Fatal(err)
			}
			if got != whole {
				t.Errorf("%d bytes held in memory, written in chunks of %d:\n%s\nwant\n%s", held, chunk, got, whole)
			}
		}
	}
}

// If the file cannot be read back, Close says how many connections were
// lost, and those asked for with --conn are reported missing.
func TestLadderReadBackFails(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	defer func(prev int) { ladderHeld = prev }(ladderHeld)
	ladderHeld = 0
	l, tr, out, err := trackLadder(heldCapture(t), []uint64{1, 2, 3, 4, 5, 6, 7}, false)
	if err != nil {
		t.Fatal(err)
	}
	if l.spill.waiting != 6 {
		t.Fatalf("%d connections spilled before the first finished, want 6", l.spill.waiting)
	}
	l.flushSpill()
	l.spill.f.Close() // reads fail from here on
	tr.Flush()
	err = l.Close(Summary{File: "held.pcap"})
	if err == nil || !strings.Contains(err.Error(), "6 connections could not be read back") {
		t.Errorf("Close: %v, want 6 connections lost", err)
	}
	if got := l.Missing(); len(got) != 6 || got[0] != 2 {
		t.Errorf("Missing() = %v, want 2 to 7", got)
	}
	if !strings.Contains(out.String(), "connection 1: ") {
		t.Errorf("connection 1 not drawn:\n%s", out.String())
	}
}

// If the file cannot be written, what was gathered for it is kept in
// memory instead: nothing is lost, and the ladders are the same.
func TestLadderSpillWriteFails(t *testing.T) {
	file, whole := heldLadders(t)
	defer func(prev int) { ladderHeld = prev }(ladderHeld)
	ladderHeld = 0
	l, tr, out, err := trackLadder(file, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if l.spill.waiting != 6 || l.spill.inBuf != 6 {
		t.Fatalf("%d connections waiting in the spill file, %d not written; want 6 and 6", l.spill.waiting, l.spill.inBuf)
	}
	l.spill.f.Close() // writes fail from here on
	l.flushSpill()
	if l.spill.waiting != 0 || !l.spill.failed {
		t.Errorf("after a failed write: %d waiting in the file (want 0), failed %v", l.spill.waiting, l.spill.failed)
	}
	tr.Flush()
	if err := l.Close(Summary{File: file}); err != nil {
		t.Fatal(err)
	}
	if out.String() != whole {
		t.Errorf("after a failed write:\n%s\nwant\n%s", out.String(), whole)
	}
}
