package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
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

// WriteTable writes one row per connection and the footer.
func WriteTable(w io.Writer, recs []Record, sum Summary) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithHeader([]string{"#", "Client", "Server", "Start", "Duration",
			"C→S pkts/bytes", "S→C pkts/bytes", "Client states", "Server states", "Outcome", "Anomalies"}),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
	)
	for i := range recs {
		r := &recs[i]
		client := r.Client
		if r.RoleGuessed {
			client += " (guessed)"
		}
		outcome := r.OutcomeText
		if r.Partial {
			outcome += " [opening not captured]"
		}
		if r.CaptureLoss {
			outcome += " [capture missed packets: states may be incomplete]"
		}
		if err := t.Append([]string{
			fmt.Sprint(r.ID),
			client,
			r.Server + vlanNote(r.VLAN),
			fmt.Sprintf("%.6f", r.Start.Sub(sum.First).Seconds()),
			fmt.Sprintf("%.6f", r.DurationS),
			fmt.Sprintf("%d/%d", r.ClientToServer.Packets, r.ClientToServer.Bytes),
			fmt.Sprintf("%d/%d", r.ServerToClient.Packets, r.ServerToClient.Bytes),
			strings.Join(r.ClientStates, " > "),
			strings.Join(r.ServerStates, " > "),
			outcome,
			anomalyList(r.Anomalies),
		}); err != nil {
			return err
		}
	}
	if len(recs) > 0 {
		if err := t.Render(); err != nil {
			return err
		}
	}
	return writeFooter(w, recs, sum)
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

// writeFooter sums connections by outcome and untracked packets by reason.
func writeFooter(w io.Writer, recs []Record, sum Summary) error {
	var b strings.Builder
	st := &sum.Stats
	fmt.Fprintf(&b, "%s: %d packets, %d TCP, %d connections\n", sum.File, st.Packets, st.TCP(), len(recs))
	count := map[string]int{}
	for i := range recs {
		count[recs[i].Outcome]++
	}
	var parts []string
	for _, id := range tracker.OutcomeIDs {
		if n := count[id]; n > 0 {
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
		fmt.Fprintf(&b, "  filtered out: %d packets (-f)\n", st.Filtered)
	}
	if sum.Late > 0 {
		fmt.Fprintf(&b, "  late: %d segments of closed connections already reported (retransmitted FINs, ACKs from TIME_WAIT)\n", sum.Late)
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
