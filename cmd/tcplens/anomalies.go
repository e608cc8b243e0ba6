package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

// errAnomalies is returned when --fail-on found an anomaly severe enough.
var errAnomalies = errors.New("anomalies at or above the --fail-on severity")

func newAnomaliesCmd() *cobra.Command {
	var tf trackerFlags
	var sf severityFlags
	var format string
	cmd := &cobra.Command{
		Use:   "anomalies FILE...",
		Short: "List what went wrong in every TCP connection, grouped by anomaly",
		Long: `Anomalies analyses capture files like read and lists every anomaly, one per
line, grouped by id with counts. The README's catalog explains each id.

With --fail-on, the exit status is 3 when an anomaly of that severity or
worse was found, so a CI job can fail on a capture that shows a regression.
--ignore leaves out the anomalies with the given ids, from the list and
from --fail-on: those a capture is known to show.`,
		Example: `  tcplens anomalies capture.pcapng
  tcplens anomalies --format ndjson capture.pcapng | jq 'select(.id == "close-wait-stuck")'
  tcplens anomalies --fail-on error capture.pcapng
  tcplens anomalies --fail-on warning --ignore syn-unanswered,open-at-end capture.pcapng`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := tf.fileConfig(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := sf.parse(); err != nil {
				return err
			}
			// Only the anomalies are kept, not every connection's record: a
			// capture of millions of connections fits in little memory.
			var rows []report.AnomalyRow
			failed := false
			for _, name := range args {
				if _, err := analyseConns(cmd.Context(), cmd.InOrStdin(), name, cfg, func(c *tracker.Conn) error {
					rows = report.AppendAnomalyRows(rows, name, c)
					return nil
				}); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "tcplens:", err)
					failed = true
				}
			}
			rows = sf.keep(rows)
			report.SortAnomalyRows(rows)
			out := cmd.OutOrStdout()
			switch format {
			case "text":
				err = report.WriteAnomalies(out, rows)
			case "json", "ndjson":
				err = report.WriteAnomaliesJSON(out, rows, format == "ndjson")
			default:
				return fmt.Errorf("unknown format %q: use text, json or ndjson", format)
			}
			if err != nil {
				return err
			}
			if failed {
				return errReported
			}
			worst := -1
			for _, r := range rows {
				s, _ := parseSeverity(r.Severity)
				worst = max(worst, s)
			}
			return sf.verdict(worst)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "o", "text", "output format: text, json or ndjson")
	sf.register(cmd.Flags())
	tf.register(cmd.Flags())
	tf.registerQuiet(cmd.Flags())
	return cmd
}

// severityFlags are --fail-on and --ignore, which anomalies and report
// share.
type severityFlags struct {
	failOn    string
	ignore    []string
	threshold int // parseSeverity(failOn)
	ignored   map[string]bool
}

func (o *severityFlags) register(f *pflag.FlagSet) {
	f.StringVar(&o.failOn, "fail-on", "never", "exit with status 3 if an anomaly of this severity or worse is found: info, warning, error or never")
	f.StringSliceVar(&o.ignore, "ignore", nil, "leave out the anomalies with these ids (comma-separated or repeated), from the list and from --fail-on")
}

// parse checks the flags' values.
func (o *severityFlags) parse() error {
	var err error
	if o.threshold, err = parseSeverity(o.failOn); err != nil {
		return err
	}
	o.ignored = make(map[string]bool, len(o.ignore))
	for _, id := range o.ignore {
		if _, ok := tracker.KindOf(id); !ok {
			return fmt.Errorf("--ignore %s: no such anomaly id (the README's catalog lists them)", id)
		}
		o.ignored[id] = true
	}
	return nil
}

// ignores reports whether id is left out.
func (o *severityFlags) ignores(id string) bool { return o.ignored[id] }

// keep returns rows without the ignored ids.
func (o *severityFlags) keep(rows []report.AnomalyRow) []report.AnomalyRow {
	if len(o.ignored) == 0 {
		return rows
	}
	return slices.DeleteFunc(rows, func(r report.AnomalyRow) bool { return o.ignored[r.ID] })
}

// verdict is errAnomalies if the worst anomaly's severity (-1: there was
// none) is at or above --fail-on.
func (o *severityFlags) verdict(worst int) error {
	if o.threshold >= 0 && worst >= o.threshold {
		return errAnomalies
	}
	return nil
}

// parseSeverity returns the severity named s, or -1 for "never".
func parseSeverity(s string) (int, error) {
	if sev, ok := tracker.ParseSeverity(s); ok {
		return int(sev), nil
	}
	if s == "never" {
		return -1, nil
	}
	return 0, fmt.Errorf("unknown severity %q: use info, warning, error or never", s)
}
