package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

func newLadderCmd() *cobra.Command {
	var tf trackerFlags
	var ids []uint
	var format string
	cmd := &cobra.Command{
		Use:   "ladder FILE...",
		Short: "Draw connections packet by packet, with both sides' states after each packet",
		Long: `Ladder draws TCP connections of capture files as ladder diagrams, like
Wireshark's flow graph: the client on the left, the server on the right, one
arrow per packet with its flags, relative sequence and acknowledgment
numbers, window and length, and the state each side is in after it. Rows
marked "-" are transitions a timer caused (TIME_WAIT expiring); lines
marked "!" are the connection's anomalies, under the packet that first
showed them.

--conn picks connections by the # column of tcplens read (repeat it, or
give a comma-separated list); without it every connection is drawn, which
for a large capture is best narrowed with --filter. Connections are drawn
in # order (each as soon as those before it are done), then the footer
that read's table has; from a pipe or a FIFO, each as it ends.

--format html writes one self-contained page instead: each connection as
an SVG image with its text drawing under it.`,
		Example: `  tcplens ladder testdata/demo.pcapng --conn 1
  tcplens ladder --format html --conn 3,4 testdata/demo.pcapng > ladder.html
  tcplens ladder --filter 'tcp port 443' capture.pcap`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := tf.fileConfig(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			want := make([]uint64, 0, len(ids))
			for _, id := range ids {
				if id == 0 {
					return fmt.Errorf("--conn 0: connections are numbered from 1")
				}
				want = append(want, uint64(id))
			}
			html := false
			switch format {
			case "text":
			case "html":
				html = true
			default:
				return fmt.Errorf("unknown format %q: use text or html", format)
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if html {
				fmt.Fprint(out, report.HTMLHead("tcplens ladder: "+strings.Join(args, ", ")))
				defer fmt.Fprint(out, report.HTMLTail)
			}
			failed := false
			for i, name := range args {
				switch {
				case html: // the Ladder heads its part of the page
				case i > 0:
					fmt.Fprintln(out)
					fallthrough
				case len(args) > 1:
					fmt.Fprintf(out, "== %s\n\n", name)
				}
				l := report.NewLadder(out, name, want)
				if html {
					l.HTML()
				}
				set.onStep = l.Step
				if len(want) > 0 {
					set.stepWant = l.Wants // the others may be parked
				}
				set.onFirst = l.SetFirst
				// From a pipe or a FIFO, which may still be being written,
				// each connection is drawn as it ends.
				set.flush = l.DrawFinished
				sum, err := analyseConns(cmd.Context(), cmd.InOrStdin(), name, set, func(c *tracker.Conn) error {
					l.Finish(c)
					return nil
				})
				if sum != nil {
					if werr := l.Close(*sum); werr != nil {
						return werr
					}
				}
				if err != nil {
					fmt.Fprintln(errOut, "tcplens:", err)
					failed = true
					continue
				}
				if missing := l.Missing(); len(missing) > 0 {
					s := make([]string, len(missing))
					for j, id := range missing {
						s[j] = fmt.Sprint(id)
					}
					fmt.Fprintf(errOut, "tcplens: %s: no connection %s (see the # column of tcplens read)\n", name, strings.Join(s, ", "))
					failed = true
				}
			}
			if failed {
				return errReported
			}
			return nil
		},
	}
	cmd.Flags().UintSliceVar(&ids, "conn", nil, "draw only the connections with these numbers (the # column of tcplens read); default: all")
	cmd.Flags().Lookup("conn").DefValue = "" // not "[]" in the help
	cmd.Flags().StringVarP(&format, "format", "o", "text", "output format: text, or html (one page, each connection as an SVG image)")
	tf.register(cmd.Flags())
	tf.registerQuiet(cmd.Flags())
	// One tracker draws the ladder: --workers would change nothing.
	cmd.Flags().MarkHidden("workers")
	return cmd
}
