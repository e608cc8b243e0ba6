package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/internal/testcaptures"
)

// equivalenceDir holds what read printed for every capture in testdata/ and
// ../shared/captures/ before the reader, decoder and tracker were made fast:
// the NDJSON records (every state transition of both sides, every anomaly)
// and the summary under the table (packet counts by reason, malformed frames
// with their offsets). Speed work must not change a byte of it. Files above
// gzipThreshold are stored gzip-compressed; zcat reads them.
const (
	equivalenceDir = "testdata/equivalence"
	gzipThreshold  = 256 << 10
)

// equivalenceCaptures lists the captures the outputs are kept for: the
// repository's, and the shared ones where present (the repository's own are
// checked without them).
func equivalenceCaptures(t *testing.T) []string {
	t.Helper()
	return testcaptures.All(t)
}

// summaryOf returns what read's table output prints below the table.
func summaryOf(table string) string {
	if i := strings.LastIndex(table, "└"); i >= 0 {
		if j := strings.IndexByte(table[i:], '\n'); j >= 0 {
			return table[i+j+1:]
		}
	}
	return table
}

func TestOutputsUnchangedOnEveryCapture(t *testing.T) {
	for _, file := range equivalenceCaptures(t) {
		base := filepath.Base(file)
		t.Run(base, func(t *testing.T) {
			var outs [2]string
			for i, workers := range []string{"1", "2"} {
				ndjson, errOut, err := runCLI(t, nil, "read", "--workers", workers, "--format", "ndjson", file)
				outs[i] = ndjson + "--- stderr\n" + errOut + "--- error\n" + errString(err) + "\n"
				table, _, _ := runCLI(t, nil, "read", "--workers", workers, file)
				outs[i] += "--- summary\n" + summaryOf(table)
			}
			// Two workers print what one does (also under -update, where
			// only one output is stored).
			if diff := cmp.Diff(outs[0], outs[1]); diff != "" {
				t.Errorf("two workers' output differs from one's (-1 +2):\n%s", diff)
			}
			equivalent(t, base, outs[0])
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

// equivalent compares got with the stored output for a capture, or stores
// it with -update.
func equivalent(t *testing.T, base, got string) {
	t.Helper()
	plain := filepath.Join(equivalenceDir, base+".out")
	gz := plain + ".gz"
	if *update {
		if err := os.MkdirAll(equivalenceDir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Remove(plain)
		os.Remove(gz)
		if len(got) <= gzipThreshold {
			if err := os.WriteFile(plain, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Write([]byte(got))
		w.Close()
		if err := os.WriteFile(gz, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(plain)
	if os.IsNotExist(err) {
		var f *os.File
		if f, err = os.Open(gz); err == nil {
			defer f.Close()
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(f); err == nil {
				want, err = io.ReadAll(zr)
			}
		}
	}
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/tcplens -run OutputsUnchanged -update to store it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s: output changed (-before +now):\n%s", base, diff)
	}
}
