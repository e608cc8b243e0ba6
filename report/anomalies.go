package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tcplens/tcplens/tracker"
)

// AnomalyRow is one anomaly with the connection it belongs to: the unit of
// `tcplens anomalies --format json|ndjson`.
type AnomalyRow struct {
	Schema string `json:"schema"`
	File   string `json:"file"`
	Conn   uint64 `json:"conn"`
	Client string `json:"client"`
	Server string `json:"server"`
	Anomaly
}

// AnomalySchemaVersion names the AnomalyRow schema.
const AnomalySchemaVersion = "tcplens.anomaly/v1"

// AppendAnomalyRows appends a row for each anomaly of connection c, read
// from file, that the catalog lists: what `tcplens anomalies` keeps of a
// connection, instead of its whole record.
func AppendAnomalyRows(rows []AnomalyRow, file string, c *tracker.Conn) []AnomalyRow {
	if len(c.Anomalies) == 0 {
		return rows
	}
	client, server := c.Client.String(), c.Server.String()
	for i := range c.Anomalies {
		a := &c.Anomalies[i]
		if _, ok := tracker.CatalogPlace(a.ID); ok {
			rows = append(rows, AnomalyRow{AnomalySchemaVersion, file, c.ID, client, server, newAnomaly(a)})
		}
	}
	return rows
}

// SortAnomalyRows puts rows in catalog order, then in order of connection
// id; rows of one id and one connection stay in the order they came.
func SortAnomalyRows(rows []AnomalyRow) {
	slices.SortStableFunc(rows, func(a, b AnomalyRow) int {
		pa, _ := tracker.CatalogPlace(a.ID)
		pb, _ := tracker.CatalogPlace(b.ID)
		if c := cmp.Compare(pa, pb); c != 0 {
			return c
		}
		return cmp.Compare(a.Conn, b.Conn)
	})
}

// WriteAnomalies writes rows as text, grouped by id with counts, one
// anomaly per line.
func WriteAnomalies(w io.Writer, rows []AnomalyRow) error {
	var b strings.Builder
	for _, group := range groupByID(rows) {
		total, conns := 0, 0
		for i, r := range group {
			total += r.Count
			if i == 0 || r.Conn != group[i-1].Conn || r.File != group[i-1].File {
				conns++ // a connection's rows (one per side) are together
			}
		}
		k, _ := tracker.KindOf(group[0].ID)
		fmt.Fprintf(&b, "%s (%s): %d in %d connection(s) — %s\n", group[0].ID, k.Severity, total, conns, k.Action)
		for _, r := range group {
			count := ""
			if r.Count > 1 {
				count = fmt.Sprintf(" x%d", r.Count)
			}
			fmt.Fprintf(&b, "  %s #%d %s > %s  %s %s frame %d%s: %s\n", r.File, r.Conn, r.Client, r.Server, r.Severity, r.Side, r.Frame, count, r.Text)
		}
	}
	if len(rows) == 0 {
		b.WriteString("no anomalies\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteAnomaliesJSON writes rows as one JSON array, or as NDJSON lines.
func WriteAnomaliesJSON(w io.Writer, rows []AnomalyRow, lines bool) error {
	enc := json.NewEncoder(w)
	if lines {
		for i := range rows {
			if err := enc.Encode(&rows[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if rows == nil {
		rows = []AnomalyRow{}
	}
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}
