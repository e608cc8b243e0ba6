package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tcplens/tcplens/tracker"
)

// wholeTable is the table as writeWhole draws it: as tablewriter draws
// it holding all of it, the way tcplens drew every table before it wrote
// a row at a time.
func wholeTable(t *testing.T, rows [][]string) string {
	t.Helper()
	var b bytes.Buffer
	if err := writeWhole(&b, rows); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The table of a file is written a row at a time, in widths worked out
// beforehand, so that tablewriter does not hold the whole table (some
// 5 KB a row): it must look exactly as tablewriter draws it holding the
// whole table, on every connection of every capture here (IPv6, guessed
// roles, VLANs, long outcomes and anomaly lists), footer included.
func TestTableRowsAsWholeTable(t *testing.T) {
	var files []string
	recs := map[string][]Record{}
	firsts := map[string]time.Time{}
	TrackCaptures(t, func(file string, first time.Time, c *tracker.Conn) {
		if _, ok := recs[file]; !ok {
			files = append(files, file)
		}
		recs[file] = append(recs[file], NewRecord(file, c))
		firsts[file] = first
	})
	for _, file := range files {
		sum := Summary{File: file, First: firsts[file]}
		var cells [][]string
		var rows []TableRow
		var outcomes outcomeCounts
		for i := range recs[file] {
			r := &recs[file][i]
			cells = append(cells, row(r, startCell(r.Start, sum.First)))
			rows = append(rows, NewTableRow(r))
			outcomes.add(r.Outcome)
		}
		var footer, got bytes.Buffer
		if err := writeFooter(&footer, &outcomes, sum); err != nil {
			t.Fatal(err)
		}
		want := wholeTable(t, cells) + footer.String()
		if err := WriteTableRows(&got, rows, sum); err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Errorf("%s: the table written a row at a time differs from the whole table:\n got:\n%s\nwant:\n%s", filepath.Base(file), got.String(), want)
		}
	}
	if len(files) < 5 {
		t.Errorf("only %d tables compared", len(files))
	}
}

// Cells no capture makes: wide, East Asian, emoji, empty columns, drawn
// a row at a time as the whole table would be; and those whose width is
// not their display width (several lines, tabs, spaces at either end),
// which must send the table to the whole-table mode.
func TestTableRowsUnusualCells(t *testing.T) {
	base := func() []string {
		return []string{"1", "10.0.0.1:1", "10.0.0.2:2", "0.000000", "1.000000", "1/0", "1/0", "CLOSED", "LISTEN", "refused", ""}
	}
	for _, tc := range []struct {
		name string
		col  int
		cell string
	}{
		{"wide", 9, strings.Repeat("x", 400)},
		{"east asian", 9, "接続が拒否されました"},
		{"emoji", 10, "🔥 rst-abort"},
		{"ipv6 zone", 1, "[fe80::1%eth0]:40000"},
		{"two lines", 9, "refused\nby RST"},
		{"tab", 9, "re\tfused"},
		{"spaces", 9, "  refused "},
	} {
		rows := [][]string{base(), base()}
		rows[1][tc.col] = tc.cell
		var got bytes.Buffer
		if err := writeRows(&got, rows); err != nil {
			t.Fatal(err)
		}
		if want := wholeTable(t, rows); got.String() != want {
			t.Errorf("%s: differs from the whole table:\n got:\n%s\nwant:\n%s", tc.name, got.String(), want)
		}
	}
}

// Rows made by NewTableRow do not carry a START of their own: it is
// filled in against the file's first packet when the table is written.
func TestTableRowStart(t *testing.T) {
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := Record{ID: 7, Start: first.Add(1500 * time.Millisecond), Outcome: "refused"}
	r := NewTableRow(&rec)
	if r.ID() != 7 || r.cells[3] != "" {
		t.Fatalf("row %+v", r)
	}
	var b bytes.Buffer
	if err := WriteTableRows(&b, []TableRow{r}, Summary{File: "f", First: first}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "│ 1.500000 │") {
		t.Errorf("START not 1.500000:\n%s", b.String())
	}
}

// A ladder of every connection holds the rows of the connections not
// drawn yet: a row is kept to 48 bytes (it was 112).
func TestLadderRowSize(t *testing.T) {
	if n := unsafe.Sizeof(ladderRow{}); n > 48 {
		t.Errorf("ladderRow is %d bytes, want at most 48", n)
	}
}
