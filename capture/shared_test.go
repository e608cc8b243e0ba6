package capture_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/internal/testcaptures"
)

// indexRow is one line of the shared captures' INDEX.md: what tshark sees.
type indexRow struct {
	file    string
	packets int64
	flags   string // "SYN/SYN-ACK/FIN/RST" packet counts
}

func readIndex(t *testing.T) []indexRow {
	f, err := os.Open(filepath.Join(testcaptures.SharedDir(t), "INDEX.md"))
	if err != nil {
		t.Skipf("no shared captures: %v", err)
	}
	defer f.Close()
	var rows []indexRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) != 9 {
			continue
		}
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		n, err := strconv.ParseInt(cols[5], 10, 64)
		if err != nil {
			continue // the header and separator lines
		}
		rows = append(rows, indexRow{file: cols[1], packets: n, flags: cols[7]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("INDEX.md lists no captures")
	}
	return rows
}

// unsupportedLinks are the shared captures whose link type tcplens does not
// decode (ARCNET, 129): every packet must be counted as such.
var unsupportedLinks = map[string]int{"tcpdump__arcnet-rfc1201-arp-icmp-http.pcap": 129}

// TestSharedCaptures reads every real capture to the end: no error, every
// packet counted once, as many packets as tshark reads, and as many SYN,
// SYN-ACK, FIN and RST segments as tshark shows.
func TestSharedCaptures(t *testing.T) {
	dir := testcaptures.SharedDir(t)
	for _, row := range readIndex(t) {
		t.Run(row.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, row.file))
			if err != nil {
				t.Fatal(err)
			}
			segs, r, err := readAll(t, row.file, data)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if r.Stats.Packets != row.packets {
				t.Errorf("Stats.Packets %d, tshark reads %d", r.Stats.Packets, row.packets)
			}
			checkStats(t, &r.Stats)
			if lt, ok := unsupportedLinks[row.file]; ok {
				if diff := cmp.Diff(map[int]int64{lt: row.packets}, r.Stats.LinkTypes); diff != "" {
					t.Errorf("LinkTypes (-want +got):\n%s", diff)
				}
				return
			}
			var syn, synAck, fin, rst int
			for _, s := range segs {
				switch {
				case s.Flags.Has(capture.SYN | capture.ACK):
					synAck++
				case s.Flags.Has(capture.SYN):
					syn++
				}
				if s.Flags.Has(capture.FIN) {
					fin++
				}
				if s.Flags.Has(capture.RST) {
					rst++
				}
			}
			if diff := cmp.Diff(row.flags, fmt.Sprintf("%d/%d/%d/%d", syn, synAck, fin, rst)); diff != "" {
				t.Errorf("SYN/SYN-ACK/FIN/RST (-tshark +tcplens):\n%s", diff)
			}
		})
	}
}
