package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/tracker"
)

// Summary is what the footer says about one file.
type Summary struct {
	File     string
	First    time.Time // time of the first packet; START is relative to it
	Stats    capture.Stats
	Problems []capture.Problem
	// Late counts segments on the 4-tuple of a closed connection that had
	// already been reported.
	Late int64
}

var tableHeader = []string{"#", "Client", "Server", "Start", "Duration",
	"C→S pkts/bytes", "S→C pkts/bytes", "Client states", "Server states", "Outcome", "Anomalies"}

// row is the table row of r, with start as its START cell.
func row(r *Record, start string) []string {
	return []string{
		fmt.Sprint(r.ID),
		clientCell(r),
		r.Server + vlanNote(r.VLAN),
		start,
		fmt.Sprintf("%.6f", r.DurationS),
		fmt.Sprintf("%d/%d", r.ClientToServer.Packets, r.ClientToServer.Bytes),
		fmt.Sprintf("%d/%d", r.ServerToClient.Packets, r.ServerToClient.Bytes),
		strings.Join(r.ClientStates, " > "),
		strings.Join(r.ServerStates, " > "),
		outcomeCell(r),
		anomalyList(r.Anomalies),
	}
}

// clientCell is the client, marked where heuristics chose it.
func clientCell(r *Record) string {
	if r.RoleGuessed {
		return r.Client + " (guessed)"
	}
	return r.Client
}

// outcomeCell is the outcome in words, with what makes it less certain.
func outcomeCell(r *Record) string {
	outcome := r.OutcomeText
	if r.Partial {
		outcome += " [opening not captured]"
	}
	if r.CaptureLoss {
		outcome += " [capture missed packets: states may be incomplete]"
	}
	return outcome
}

// startCell is the START cell: seconds since first.
func startCell(start, first time.Time) string {
	return fmt.Sprintf("%.6f", start.Sub(first).Seconds())
}

// noWidthCache turns off tablewriter's cache of string widths: our cells are
// nearly all distinct (addresses, times), so the cache only costs (a tenth
// of rendering a large table).
var noWidthCache sync.Once

// TableRow is what the table shows of one connection: kept instead of
// its record until the table is written, some tenth of the memory. Make
// one with NewTableRow.
type TableRow struct {
	id      uint64
	start   time.Time
	outcome string
	cells   []string // START (relative to the file's first packet) is filled in when written
}

// NewTableRow returns the table row of r.
func NewTableRow(r *Record) TableRow {
	return TableRow{id: r.ID, start: r.Start, outcome: r.Outcome, cells: row(r, "")}
}

// ID is the connection's id, by which the table is sorted.
func (r *TableRow) ID() uint64 { return r.id }

// WriteTableRows writes rows made by NewTableRow, in the order given, and
// the footer. It fills in each row's START cell (rows may not be written
// by two goroutines at once).
func WriteTableRows(w io.Writer, rows []TableRow, sum Summary) error {
	cells := make([][]string, len(rows))
	var outcomes outcomeCounts
	for i := range rows {
		cells[i] = rows[i].cells
		cells[i][3] = startCell(rows[i].start, sum.First)
		outcomes.add(rows[i].outcome)
	}
	if len(rows) > 0 {
		if err := writeRows(w, cells); err != nil {
			return err
		}
	}
	return writeFooter(w, &outcomes, sum)
}

// writeRows writes a table of rows under tableHeader. Each column is as
// wide as its widest cell, as tablewriter makes it when it holds the whole
// table; the rows are written one at a time in its streaming mode, which
// keeps none of them (holding them took it some 5 KB per row). A cell
// whose width is not simply its display width (more than one line, a tab,
// spaces at either end, which tablewriter's whole-table mode wraps, expands
// or trims) sends the table to the whole-table mode: no row of a capture
// has one.
func writeRows(w io.Writer, rows [][]string) error {
	noWidthCache.Do(func() { twwidth.SetCacheCapacity(0) })
	widths := tw.Mapper[int, int]{}
	header := batchHeader()
	for col, h := range header {
		widths[col] = twwidth.Width(h)
	}
	for _, r := range rows {
		for col, cell := range r {
			if !plainCell(cell) {
				return writeWhole(w, rows)
			}
			widths[col] = max(widths[col], twwidth.Width(cell))
		}
	}
	for col := range widths {
		widths[col] += 2 // the cell's padding
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithStreaming(tw.StreamConfig{Enable: true}),
		tablewriter.WithWidths(tw.CellWidth{PerColumn: widths}),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
	)
	if err := t.Start(); err != nil {
		return err
	}
	t.Header(header)
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Close()
}

// plainCell reports whether cell's width in the table is its display
// width: one line, no tab, no space at either end.
func plainCell(cell string) bool {
	return !strings.ContainsAny(cell, "\n\r\t") && strings.TrimSpace(cell) == cell
}

// writeWhole writes rows as tablewriter does holding the whole table.
func writeWhole(w io.Writer, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithHeader(tableHeader),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
	)
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}

// batchHeader is tableHeader as tablewriter formats a header when it
// holds the whole table ("C→S pkts/bytes" is "C → S PKTS / BYTES"): the
// table of a file has always looked so.
func batchHeader() []string {
	h := make([]string, len(tableHeader))
	for i, s := range tableHeader {
		h[i] = tw.Title(strings.Join(tw.SplitCamelCase(s), tw.Space))
	}
	return h
}

// anomalyList names a connection's anomalies, with a count where one
// happened more than once: "syn-retransmitted x2, rst-abort".
func anomalyList(as []Anomaly) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.ID
		if a.Count > 1 {
			parts[i] += fmt.Sprintf(" x%d", a.Count)
		}
	}
	return strings.Join(parts, ", ")
}

func vlanNote(v []uint16) string {
	if len(v) == 0 {
		return ""
	}
	s := make([]string, len(v))
	for i, id := range v {
		s[i] = fmt.Sprint(id)
	}
	return " vlan " + strings.Join(s, ".")
}

// outcomeCounts counts a table's connections by outcome, for its footer.
type outcomeCounts struct {
	n     int
	count map[string]int
}

func (o *outcomeCounts) add(outcome string) {
	if o.count == nil {
		o.count = map[string]int{}
	}
	o.n++
	o.count[outcome]++
}

// Plural is "1 packet", "2 packets".
func Plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.FormatInt(n, 10) + " " + what + "s"
}

// writeFooter sums connections by outcome and untracked packets by reason.
func writeFooter(w io.Writer, outcomes *outcomeCounts, sum Summary) error {
	var b strings.Builder
	st := &sum.Stats
	fmt.Fprintf(&b, "%s: %s, %d TCP, %s\n", sum.File, Plural(st.Packets, "packet"), st.TCP(), Plural(int64(outcomes.n), "connection"))
	var parts []string
	for _, id := range tracker.OutcomeIDs {
		if n := outcomes.count[id]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, id))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, "  outcomes: %s\n", strings.Join(parts, ", "))
	}
	parts = parts[:0]
	for _, r := range capture.Reasons() {
		if n := st.ByReason[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, r))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, "  not tracked: %s\n", strings.Join(parts, ", "))
	}
	if st.Filtered > 0 {
		fmt.Fprintf(&b, "  filtered out: %s (-f)\n", Plural(st.Filtered, "packet"))
	}
	if sum.Late > 0 {
		fmt.Fprintf(&b, "  late: %s of closed connections already reported (retransmitted FINs, ACKs from TIME_WAIT)\n", Plural(sum.Late, "segment"))
	}
	for lt, n := range st.LinkTypes {
		fmt.Fprintf(&b, "  link type %s is not decoded by tcplens: %d packets skipped\n", capture.LinkTypeName(lt), n)
	}
	for _, p := range sum.Problems {
		fmt.Fprintf(&b, "  malformed: frame %d at byte offset %d: %v\n", p.Frame, p.Offset, p.Err)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TableStream writes table rows as connections finish, for a live
// capture: the columns have fixed widths (long cells wrap), since the rows
// to come are not known.
type TableStream struct {
	t        *tablewriter.Table
	w        io.Writer
	first    time.Time
	outcomes outcomeCounts
}

// streamWidths are the columns' widths in characters, padding included:
// room for each header (C → S PKTS / BYTES is 18).
var streamWidths = tw.Mapper[int, int]{0: 6, 1: 22, 2: 22, 3: 10, 4: 10, 5: 20, 6: 20, 7: 32, 8: 32, 9: 32, 10: 32}

// NewTableStream starts a table on w; START is relative to first.
func NewTableStream(w io.Writer, first time.Time) (*TableStream, error) {
	t := tablewriter.NewTable(w,
		tablewriter.WithStreaming(tw.StreamConfig{Enable: true}),
		tablewriter.WithWidths(tw.CellWidth{PerColumn: streamWidths}),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
	)
	if err := t.Start(); err != nil {
		return nil, err
	}
	t.Header(batchHeader()) // the columns of read's table, named alike
	return &TableStream{t: t, w: w, first: first}, nil
}

// Append writes the row of one finished connection.
func (s *TableStream) Append(r *Record) error {
	s.outcomes.add(r.Outcome)
	return s.t.Append(row(r, startCell(r.Start, s.first)))
}

// Close ends the table and writes the footer.
func (s *TableStream) Close(sum Summary) error {
	if err := s.t.Close(); err != nil {
		return err
	}
	return writeFooter(s.w, &s.outcomes, sum)
}
