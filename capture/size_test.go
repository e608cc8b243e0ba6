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
}
