package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/scenario"
)

// `tcpdump -w - | tcplens read --format ndjson -`, or the same through a
// FIFO (`mkfifo p; tcpdump -w p & tcplens read --format ndjson p`): a
// record comes out as its connection ends, while the capture is still
// being written, with the default workers too; and so does a ladder.
func TestReadStreamsRecords(t *testing.T) {
	b := scenario.New(scenario.Options{})
	a := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
	a.Handshake()
	a.Send(scenario.Client, "R", 0)
	b.Advance(3 * time.Second) // past the 2 s linger: a sweep hands the connection on
	later := b.Conn("10.0.0.1:40001", "10.0.0.2:80")
	later.Send(scenario.Client, "S", 0)
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	for _, tc := range []struct {
		via  string
		args []string
		want string // in the first line
	}{
		{"stdin", []string{"read", "--format", "ndjson"}, `"client":"10.0.0.1:40000"`},
		{"fifo", []string{"read", "--format", "ndjson"}, `"client":"10.0.0.1:40000"`},
		{"stdin", []string{"ladder"}, "connection 1: client 10.0.0.1:40000"},
		{"fifo", []string{"ladder"}, "connection 1: client 10.0.0.1:40000"},
	} {
		via := tc.via
		t.Run(tc.args[0]+"-"+via, func(t *testing.T) {
			inR, inW := io.Pipe()
			arg := "-"
			var stdin io.Reader = inR
			if via == "fifo" {
				stdin = strings.NewReader("")
				arg = filepath.Join(t.TempDir(), "capture")
				if err := syscall.Mkfifo(arg, 0o600); err != nil {
					t.Skipf("no FIFO here: %v", err)
				}
				// Opening a FIFO to write waits for its reader.
				go func() {
					f, err := os.OpenFile(arg, os.O_WRONLY, 0)
					if err != nil {
						inR.CloseWithError(err)
						return
					}
					io.Copy(f, inR)
					f.Close()
				}()
			}
			outR, outW := io.Pipe()
			done := make(chan error, 1)
			go func() {
				done <- run(context.Background(), append(tc.args, arg), stdin, outW, io.Discard)
				outW.Close()
			}()
			go inW.Write(b.Bytes()) // and the capture goes on: the pipe stays open
			line := make(chan string, 1)
			go func() {
				s, _ := bufio.NewReader(outR).ReadString('\n')
				line <- s
			}()
			select {
			case s := <-line:
				if !strings.Contains(s, tc.want) {
					t.Errorf("first line %q, want the reset connection's", s)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no record while the capture was still open")
			}
			inW.Close()
			go io.Copy(io.Discard, outR)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
