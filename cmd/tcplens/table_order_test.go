package main

import (
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/tcplens/tcplens/internal/scenario"
	"github.com/tcplens/tcplens/report"
)

// The table lists connections by id, in the order they began, though they
// are handed on in the order they end: here the second ends (reset) long
// before the first (open until the capture ends).
func TestTableInIDOrder(t *testing.T) {
	b := scenario.New(scenario.Options{})
	first := b.Conn("10.0.0.1:40000", "10.0.0.2:80")
	first.Handshake()
	second := b.Conn("10.0.0.1:40001", "10.0.0.2:80")
	second.Handshake()
	second.Send(scenario.Client, "R", 0)
	b.Advance(5 * time.Second) // past the linger: the reset one is handed on
	first.Send(scenario.Client, "PA", 100)
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	file := filepath.Join(t.TempDir(), "order.pcapng")
	if err := b.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	ndjson, _, err := runCLI(t, nil, "read", "--format", "ndjson", "--workers", "1", file)
	if err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(ndjson, `"id":2`), strings.Index(ndjson, `"id":1`); i < 0 || j < 0 || i > j {
		t.Fatalf("the reset connection was not handed on first, so this test shows nothing:\n%s", ndjson)
	}
	for _, workers := range []string{"1", "2"} {
		table, _, err := runCLI(t, nil, "read", "--workers", workers, file)
		if err != nil {
			t.Fatal(err)
		}
		if i, j := strings.Index(table, "│ 1 │"), strings.Index(table, "│ 2 │"); i < 0 || j < 0 || i > j {
			t.Errorf("workers %s: rows not in id order:\n%s", workers, table)
		}
	}
}

// Drawing a table leaves the collector's settings as they were.
func TestWriteTableRestoresGC(t *testing.T) {
	startPacer(t, pacer)
	prevLimit := debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(prevLimit)
	pct := gogc()
	var out strings.Builder
	if err := writeTable(&out, nil, report.Summary{File: "f"}); err != nil {
		t.Fatal(err)
	}
	if got, limit := gogc(), debug.SetMemoryLimit(1<<40); got != pct || limit != 1<<40 {
		t.Errorf("after writeTable GOGC %d and memory limit %d, want %d and %d", got, limit, pct, int64(1<<40))
	}
	if !strings.Contains(out.String(), "f: 0 packets") {
		t.Errorf("footer missing:\n%s", out.String())
	}
}
