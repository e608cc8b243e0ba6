package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/scenario"
)

// `tcpdump -w - | tcplens read --format ndjson -`: a record comes out as
// its connection ends, while the capture is still being written, with the
// default workers too.
func TestReadStdinStreamsRecords(t *testing.T) {
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
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"read", "--format", "ndjson", "-"}, inR, outW, io.Discard)
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
		if !strings.Contains(s, `"client":"10.0.0.1:40000"`) {
			t.Errorf("first record %q, want the reset connection's", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no record while the capture was still open")
	}
	inW.Close()
	go io.Copy(io.Discard, outR)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
