package capture_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/tcplens/tcplens/capture"
)

// Size is the file's size for a file Open opened, which the progress bar
// shows progress against, and 0 for a stream.
func TestReaderSize(t *testing.T) {
	const name = "../testdata/demo.pcapng"
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := capture.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != fi.Size() {
		t.Errorf("Size %d, want %d", r.Size(), fi.Size())
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := capture.NewReader("stream", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Size() != 0 {
		t.Errorf("a stream's Size is %d, want 0", s.Size())
	}
	// Standard input redirected from the file (`tcplens read - < file`)
	// is that file; from a pipe, a stream.
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if in, err := capture.NewReader("<stdin>", f); err != nil {
		t.Error(err)
	} else if in.Size() != fi.Size() {
		t.Errorf("a regular file given as a reader: Size %d, want %d", in.Size(), fi.Size())
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { pw.Write(data); pw.Close() }()
	defer pr.Close()
	if in, err := capture.NewReader("<stdin>", pr); err != nil {
		t.Error(err)
	} else if in.Size() != 0 {
		t.Errorf("a pipe: Size %d, want 0", in.Size())
	}
}
