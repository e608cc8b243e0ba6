package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

func newReportCmd() *cobra.Command {
	var tf trackerFlags
	var sf severityFlags
	var format string
	var ladders, examples int
	cmd := &cobra.Command{
		Use:   "report FILE...",
		Short: "Write an incident report: what went wrong, what it means, and ladders of the worst connections",
		Long: `Report analyses capture files like read and writes an incident report for
each, in Markdown or as one self-contained HTML page: the capture's facts
and read's footer, every anomaly id found with what it usually means and
what to do (the README's catalog), example connections of each, and the
ladder of the connections with the most severe anomalies (one for each
warning or error id first), as tcplens ladder draws them.

The ladders take a second pass over the file, so a report from standard
input or a FIFO has none. --fail-on and --ignore work as in anomalies: a
CI job can keep the report and fail on it.`,
		Example: `  tcplens report testdata/demo.pcapng
  tcplens report --format html capture.pcapng > report.html
  tcplens report --format html --fail-on error capture.pcapng > report.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := tf.fileConfig(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := sf.parse(); err != nil {
				return err
			}
			switch format {
			case "markdown", "md", "html":
			default:
				return fmt.Errorf("unknown format %q: use markdown or html", format)
			}
			if ladders < 0 || examples < 0 {
				return fmt.Errorf("--ladders and --examples: want 0 or more")
			}
			errOut := cmd.ErrOrStderr()
			var files []*report.Incident
			failed, worst := false, -1
			for _, name := range args {
				in := &report.Incident{File: name, Keep: max(1, examples, ladders), Ignore: sf.ignores}
				sum, err := analyseConns(cmd.Context(), cmd.InOrStdin(), name, set, func(c *tracker.Conn) error {
					in.Add(c)
					return nil
				})
				if err != nil {
					fmt.Fprintln(errOut, "tcplens:", err)
					failed = true
					if sum == nil {
						continue
					}
					in.Err = err.Error()
				}
				in.Summary = *sum
				if s, ok := in.Worst(); ok {
					worst = max(worst, int(s))
				}
				if ids := in.LadderConns(ladders); len(ids) > 0 {
					if err := drawIncidentLadders(cmd, in, name, set, ids); err != nil {
						fmt.Fprintln(errOut, "tcplens:", err)
						failed = true
					}
				}
				files = append(files, in)
			}
			o := report.IncidentOptions{Examples: examples}
			if format == "html" {
				err = report.WriteIncidentHTML(cmd.OutOrStdout(), files, o)
			} else {
				err = report.WriteIncidentMarkdown(cmd.OutOrStdout(), files, o)
			}
			if err != nil {
				return err
			}
			if failed {
				return errReported
			}
			return sf.verdict(worst)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&format, "format", "o", "markdown", "output format: markdown (or md) or html")
	f.IntVar(&ladders, "ladders", 5, "draw at most this many connections packet by packet (0: none)")
	f.IntVar(&examples, "examples", 10, "list at most this many connections under each anomaly id")
	sf.register(f)
	tf.register(f)
	tf.registerQuiet(f)
	return cmd
}

// drawIncidentLadders reads file again and draws the connections ids for
// in, as tcplens ladder --conn would.
func drawIncidentLadders(cmd *cobra.Command, in *report.Incident, name string, set settings, ids []uint64) error {
	if fi, err := os.Stat(name); name == "-" || err != nil || !fi.Mode().IsRegular() {
		in.NoLadder = "No ladder: they take a second pass over the capture, and " + name + " is not a regular file (tcplens ladder draws it in one)."
		return nil
	}
	l := report.NewLadder(io.Discard, name, ids)
	l.Keep()
	set.onStep, set.stepWant = l.Step, l.Wants
	set.onFirst = l.SetFirst
	set.progress = nil // the first pass drew one
	sum, err := analyseConns(cmd.Context(), nil, name, set, func(c *tracker.Conn) error {
		l.Finish(c)
		return nil
	})
	if sum == nil {
		return err
	}
	if in.Err != "" {
		err = nil // the first pass met it, and said so
	}
	if cerr := l.Close(*sum); err == nil {
		err = cerr
	}
	if err == nil && len(l.Missing()) > 0 {
		err = fmt.Errorf("%s: connections %v changed between two reads of the file", name, l.Missing())
	}
	if err != nil {
		return err
	}
	in.Ladders = l.Drawings()
	return nil
}
