// Package synthcorpus generates, for tests, captures of the kind the
// shared benchmark corpus is made of (many interleaved connections, snap
// length 128, IPv4 and IPv6, every kind of ending), with the generator in
// ../shared/bench beside the module.
package synthcorpus

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Generate writes a capture of conns connections opened at rate a second
// from seed and returns its path; "" when the generator is not there or
// the tests run with -short (it takes a few seconds).
func Generate(tb testing.TB, conns, rate, seed int) string {
	tb.Helper()
	if testing.Short() {
		return ""
	}
	gen := generator()
	if gen == "" {
		return ""
	}
	out := filepath.Join(tb.TempDir(), "synth.pcap")
	var msgs bytes.Buffer
	if err := Synthgen(gen, out, conns, rate, seed, &msgs); err != nil {
		tb.Fatalf("%v\n%s", err, msgs.Bytes())
	}
	return out
}

// Synthgen runs the generator in dir (../shared/bench) to write out, its
// messages to msgs.
func Synthgen(dir, out string, conns, rate, seed int, msgs io.Writer) error {
	cmd := exec.Command("go", "run", "./synthgen", "-o", out,
		"-conns", strconv.Itoa(conns), "-rate", strconv.Itoa(rate), "-seed", strconv.Itoa(seed))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = msgs, msgs
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("synthgen in %s: %w", dir, err)
	}
	return nil
}

// generator returns ../shared/bench beside the module root, if it holds
// synthgen.
func generator() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			gen := filepath.Join(dir, "..", "shared", "bench")
			if _, err := os.Stat(filepath.Join(gen, "synthgen")); err == nil {
				return gen
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
