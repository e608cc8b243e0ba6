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
// memory up to held bytes.
func drawLadder(t *testing.T, file string, held int) (string, error) {
	t.Helper()
	defer func(prev int) { ladderHeld = prev }(ladderHeld)
	ladderHeld = held
	r, err := capture.Open(file)
	if err != nil {
		return "", err
	}
	defer r.Close()
	var out bytes.Buffer
	l := NewLadder(&out, file, nil)
	cfg, _ := tracker.Profile("linux")
	tr := tracker.New(cfg, l.Finish)
	tr.OnStep(l.Step)
	var seg capture.Segment
	for r.Next(&seg) == nil {
		tr.Track(&seg)
	}
	tr.Flush()
	err = l.Close(Summary{File: file, Stats: r.Stats})
	return out.String(), err
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
		inMemory, err := drawLadder(t, file, 1<<40)
		if errors.Is(err, capture.ErrNotCapture) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := drawLadder(t, file, 0)
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

// Connections that finish behind a long one come out in # order, the same
// whether they waited in memory, in the file, or partly in each.
func TestLadderHeldInOrder(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
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
	whole, err := drawLadder(t, file, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	var at []int
	for id := 1; id <= 7; id++ {
		i := strings.Index(whole, fmt.Sprintf("connection %d: ", id))
		if i < 0 || len(at) > 0 && i < at[len(at)-1] {
			t.Fatalf("connection %d missing or out of order:\n%s", id, whole)
		}
		at = append(at, i)
	}
	for _, held := range []int{0, at[3] - at[2], 2 * (at[3] - at[2])} {
		got, err := drawLadder(t, file, held)
		if err != nil {
			t.Fatal(err)
		}
		if got != whole {
			t.Errorf("%d bytes held in memory:\n%s\nwant\n%s", held, got, whole)
		}
	}
}
