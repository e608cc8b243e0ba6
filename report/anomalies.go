package report

import (
	"encoding/json"
	"fmt"
	"io"
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

// AnomalyRows flattens the anomalies of recs, in catalog order and then by
// connection.
func AnomalyRows(recs []Record) []AnomalyRow {
	var rows []AnomalyRow
	for _, k := range tracker.Catalog {
		for i := range recs {
			r := &recs[i]
			for _, a := range r.Anomalies {
				if a.ID == k.ID {
					rows = append(rows, AnomalyRow{AnomalySchemaVersion, r.File, r.ID, r.Client, r.Server, a})
				}
			}
		}
	}
	return rows
}

// WriteAnomalies writes rows as text, grouped by id with counts, one
// anomaly per line.
func WriteAnomalies(w io.Writer, rows []AnomalyRow) error {
	var b strings.Builder
	for i := 0; i < len(rows); {
		j := i
		total := 0
		for j < len(rows) && rows[j].ID == rows[i].ID {
			total += rows[j].Count
			j++
		}
		k, _ := tracker.KindOf(rows[i].ID)
		fmt.Fprintf(&b, "%s (%s): %d in %d connection(s) — %s\n", rows[i].ID, k.Severity, total, j-i, k.Action)
		for _, r := range rows[i:j] {
			count := ""
			if r.Count > 1 {
				count = fmt.Sprintf(" x%d", r.Count)
			}
			fmt.Fprintf(&b, "  %s #%d %s > %s  %s %s frame %d%s: %s\n", r.File, r.Conn, r.Client, r.Server, r.Severity, r.Side, r.Frame, count, r.Text)
		}
		i = j
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
