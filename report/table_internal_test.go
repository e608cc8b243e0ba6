package report

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/tracker"
)

// The table of a file is written a row at a time, in widths worked out
// beforehand, so that tablewriter does not hold the whole table (some
// 5 KB a row): it must look exactly as tablewriter draws it holding the
// whole table, on every connection of every capture here (wide cells,
// IPv6, guessed roles, VLANs, long outcomes and anomaly lists).
func TestTableRowsAsWholeTable(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../testdata/*.pcap*", "../testdata/anomalies/*.pcapng", "../../shared/captures/*.pcap*"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	tables := 0
	for _, file := range files {
		r, err := capture.Open(file)
		if errors.Is(err, capture.ErrNotCapture) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := tracker.Profile("linux")
		var recs []Record
		tr := tracker.New(cfg, func(c *tracker.Conn) { recs = append(recs, NewRecord(file, c)) })
		var seg capture.Segment
		var first capture.Segment
		for r.Next(&seg) == nil {
			if first.Frame == 0 {
				first = seg
			}
			tr.Track(&seg)
		}
		tr.Flush()
		r.Close()
		if len(recs) == 0 {
			continue
		}
		tables++
		var rows [][]string
		var want, got bytes.Buffer
		whole := tablewriter.NewTable(&want,
			tablewriter.WithHeader(tableHeader),
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithRowAutoWrap(tw.WrapNormal),
		)
		for i := range recs {
			rows = append(rows, row(&recs[i], first.Time))
			if err := whole.Append(rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := whole.Render(); err != nil {
			t.Fatal(err)
		}
		if err := writeRows(&got, rows); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: the table written a row at a time differs from the whole table:\n got:\n%s\nwant:\n%s", filepath.Base(file), got.String(), want.String())
		}
	}
	if tables < 5 {
		t.Errorf("only %d tables compared", tables)
	}
}
