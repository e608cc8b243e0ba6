package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader names the columns of a CSV record: the connection record's
// fields (see Record), those of its two flows flattened, its lists of
// states and anomaly ids each in one cell, separated by spaces. Its
// transitions and the anomalies' details are in JSON only.
var CSVHeader = []string{
	"file", "id", "incarnation", "client", "server", "vlan", "role_guessed", "partial",
	"start", "end", "duration_s", "first_frame", "last_frame",
	"c2s_packets", "c2s_bytes", "s2c_packets", "s2c_bytes",
	"client_states", "server_states", "outcome", "outcome_text",
	"ignored_rsts", "capture_loss", "anomalies",
}

// CSV writes connection records as CSV (RFC 4180, through encoding/csv):
// a header line, then a line per record.
type CSV struct {
	w      *csv.Writer
	cell   []string
	header bool
}

// NewCSV returns a CSV writer on w; the header goes out with the first
// record, or with Flush if there is none.
func NewCSV(w io.Writer) *CSV {
	return &CSV{w: csv.NewWriter(w), cell: make([]string, len(CSVHeader))}
}

// Write writes r's line (after the header, the first time).
func (c *CSV) Write(r *Record) error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	vlan := make([]string, len(r.VLAN))
	for i, v := range r.VLAN {
		vlan[i] = strconv.Itoa(int(v))
	}
	ids := make([]string, len(r.Anomalies))
	for i := range r.Anomalies {
		ids[i] = r.Anomalies[i].ID
	}
	f := c.cell
	f[0], f[1], f[2], f[3], f[4] = r.File, strconv.FormatUint(r.ID, 10), strconv.Itoa(r.Incarnation), r.Client, r.Server
	f[5], f[6], f[7] = strings.Join(vlan, "."), strconv.FormatBool(r.RoleGuessed), strconv.FormatBool(r.Partial)
	f[8], f[9] = r.Start.UTC().Format(time.RFC3339Nano), r.End.UTC().Format(time.RFC3339Nano)
	f[10] = string(appendFloat(nil, r.DurationS))
	f[11], f[12] = strconv.FormatInt(r.FirstFrame, 10), strconv.FormatInt(r.LastFrame, 10)
	f[13], f[14] = strconv.FormatInt(r.ClientToServer.Packets, 10), strconv.FormatInt(r.ClientToServer.Bytes, 10)
	f[15], f[16] = strconv.FormatInt(r.ServerToClient.Packets, 10), strconv.FormatInt(r.ServerToClient.Bytes, 10)
	f[17], f[18] = strings.Join(r.ClientStates, " "), strings.Join(r.ServerStates, " ")
	f[19], f[20] = r.Outcome, r.OutcomeText
	f[21], f[22] = strconv.Itoa(r.IgnoredRSTs), strconv.FormatBool(r.CaptureLoss)
	f[23] = strings.Join(ids, " ")
	return c.w.Write(f)
}

func (c *CSV) writeHeader() error {
	if c.header {
		return nil
	}
	c.header = true
	return c.w.Write(CSVHeader)
}

// Flush writes what is buffered (the header, if no record came) to the
// underlying writer and reports any error of a write so far.
func (c *CSV) Flush() error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	c.w.Flush()
	return c.w.Error()
}
