package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// runCLI runs the command line and returns stdout, stderr and the error.
func runCLI(t *testing.T, stdin []byte, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, bytes.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/tcplens -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

const demo = "../../testdata/demo.pcapng"

func TestVersionAndHelp(t *testing.T) {
	out, _, err := runCLI(t, nil, "--version")
	if err != nil || !strings.Contains(out, "tcplens version "+version) {
		t.Errorf("--version: %q, %v", out, err)
	}
	out, _, err = runCLI(t, nil, "read", "--help")
	if err != nil || !strings.Contains(out, "--format") || !strings.Contains(out, "--os") {
		t.Errorf("read --help: %q, %v", out, err)
	}
}

func TestReadDemoGolden(t *testing.T) {
	for _, format := range []string{"table", "json", "ndjson"} {
		t.Run(format, func(t *testing.T) {
			out, errOut, err := runCLI(t, nil, "read", "--format", format, demo)
			if err != nil {
				t.Fatalf("read: %v\n%s", err, errOut)
			}
			golden(t, "demo."+format+".golden", out)
		})
	}
}

func TestReadStdinMatchesFile(t *testing.T) {
	data, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _, err := runCLI(t, nil, "read", "-o", "ndjson", demo)
	if err != nil {
		t.Fatal(err)
	}
	fromStdin, _, err := runCLI(t, data, "read", "-o", "ndjson", "-")
	if err != nil {
		t.Fatal(err)
	}
	fromStdin = strings.ReplaceAll(fromStdin, `"file":"-"`, `"file":"`+demo+`"`)
	if diff := cmp.Diff(fromFile, fromStdin); diff != "" {
		t.Errorf("stdin and file differ (-file +stdin):\n%s", diff)
	}
}

// captureCopy writes the bytes of capture src that cut keeps to a file
// named name in a temporary directory, and returns its path.
func captureCopy(t *testing.T, src, name string, cut func([]byte) []byte) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, cut(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// whole keeps a capture whole (captureCopy).
func whole(b []byte) []byte { return b }

func TestTruncatedCapture(t *testing.T) {
	// Cut inside the record of frame 19 (the records of frames 1-18 end
	// at byte 1976 in this file; see the error below).
	path := captureCopy(t, demo, "cut.pcapng", func(b []byte) []byte { return b[:2000] })
	out, errOut, err := runCLI(t, nil, "read", path)
	if err == nil {
		t.Fatal("a truncated capture must fail")
	}
	wantErr := path + ": frame 19 at byte offset 1976: the file ends in the middle of this record"
	if !strings.Contains(errOut, wantErr) {
		t.Errorf("stderr = %q, want it to contain %q", errOut, wantErr)
	}
	// Everything before the cut is still reported.
	for _, want := range []string{"closed by client, server saw final ACK", "18 packets, 18 TCP, 2 connections"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

func TestNotACapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("these are not packets\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCLI(t, nil, "read", path, demo)
	if err == nil {
		t.Fatal("want an error for a file that is not a capture")
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], path+": file header at byte offset 0: not a packet capture") {
		t.Errorf("stderr = %q, want one line saying it is not a capture", errOut)
	}
	if !strings.Contains(out, "37 packets, 37 TCP, 5 connections") {
		t.Errorf("the good file after the bad one must still be read:\n%s", out)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"read", "--format", "xml", demo},
		{"read", "--os", "plan9", demo},
		{"read"},
	} {
		if _, _, err := runCLI(t, nil, args...); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}

// --cpuprofile and --memprofile write profiles that go tool pprof reads
// (gzip-compressed protocol buffers), also when the command fails.
func TestProfileFlags(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	if _, errOut, err := runCLI(t, nil, "read", "--cpuprofile", cpu, "--memprofile", mem, "-o", "ndjson", demo); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, p := range []string{cpu, mem} {
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 20 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, %v: not a pprof profile", p, len(b), err)
		}
	}
	// --alloc-stats (hidden, for the benchmark command) reports the run's
	// allocations on stderr.
	_, errOut, err := runCLI(t, nil, "read", "--alloc-stats", "-o", "ndjson", demo)
	if err != nil || !strings.Contains(errOut, "alloc-stats: mallocs=") {
		t.Errorf("--alloc-stats: %q, %v", errOut, err)
	}
	os.Remove(mem)
	if _, _, err := runCLI(t, nil, "read", "--memprofile", mem, filepath.Join(dir, "missing.pcap")); err == nil {
		t.Fatal("read of a missing file succeeded")
	}
	if _, err := os.Stat(mem); err != nil {
		t.Errorf("no heap profile after a failed command: %v", err)
	}
	if _, _, err := runCLI(t, nil, "read", "--cpuprofile", filepath.Join(dir, "no", "such", "dir"), demo); err == nil || !strings.Contains(err.Error(), "--cpuprofile") {
		t.Errorf("unwritable --cpuprofile: %v", err)
	}
}

// sniff's ring buffer size is checked before anything is opened.
func TestSniffBufferSizeFlag(t *testing.T) {
	for _, b := range []string{"0", "-1", "4097"} {
		_, _, err := runCLI(t, nil, "sniff", "-i", "lo", "--buffer-size", b)
		if err == nil || !strings.Contains(err.Error(), "--buffer-size "+b+": want 1 to 4096") {
			t.Errorf("--buffer-size %s: %v", b, err)
		}
	}
}
