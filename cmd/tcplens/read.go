package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

type readOptions struct {
	format      string
	osProfile   string
	msl         time.Duration
	idleTimeout time.Duration
}

func newReadCmd() *cobra.Command {
	var o readOptions
	cmd := &cobra.Command{
		Use:   "read FILE...",
		Short: "Analyse capture files and print one record per TCP connection",
		Long: `Read analyses each capture file (pcap or pcapng, optionally gzipped; "-" is
standard input) on its own and prints one record per TCP connection:
client and server, start and duration, packets and bytes each way, the
states each side went through and how the connection ended.`,
		Example: `  tcplens read testdata/demo.pcapng
  tcplens read --format json capture.pcap
  tcpdump -w - -i eth0 | tcplens read --format ndjson -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return readFiles(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "o", "table", "output format: table, json or ndjson")
	f.StringVar(&o.osProfile, "os", "linux", "OS profile for TIME_WAIT and timeouts: linux, windows or bsd")
	f.DurationVar(&o.msl, "msl", 0, "maximum segment lifetime; TIME_WAIT lasts 2*MSL (default from --os)")
	f.DurationVar(&o.idleTimeout, "idle-timeout", tracker.DefaultIdleTimeout, "end a connection after this much capture time without packets")
	return cmd
}

func readFiles(cmd *cobra.Command, files []string, o readOptions) error {
	cfg, err := tracker.Profile(o.osProfile)
	if err != nil {
		return err
	}
	if o.msl > 0 {
		cfg.MSL = o.msl
	}
	cfg.IdleTimeout = o.idleTimeout
	switch o.format {
	case "table", "json", "ndjson":
	default:
		return fmt.Errorf("unknown format %q: use table, json or ndjson", o.format)
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var all []report.Record
	failed := false
	for i, name := range files {
		recs, sum, err := analyse(cmd, name, cfg, o.format, out)
		if o.format == "table" && sum != nil {
			if i > 0 {
				fmt.Fprintln(out)
			}
			if werr := report.WriteTable(out, recs, *sum); werr != nil {
				return werr
			}
		}
		all = append(all, recs...)
		if err != nil {
			fmt.Fprintln(errOut, "tcplens:", err)
			failed = true
		}
	}
	if o.format == "json" {
		if err := report.WriteJSON(out, all); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// analyse reads one file. NDJSON records are written as connections
// finish; for the other formats they are returned sorted by connection id.
// On a damaged file the records read before the damage are returned with
// the error; a file that cannot be opened as a capture has no summary.
func analyse(cmd *cobra.Command, name string, cfg tracker.Config, format string, out io.Writer) ([]report.Record, *report.Summary, error) {
	sum := &report.Summary{File: name}
	var r *capture.Reader
	var err error
	if name == "-" {
		r, err = capture.NewReader("<stdin>", cmd.InOrStdin())
	} else {
		r, err = capture.Open(name)
	}
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()

	var recs []report.Record
	var writeErr error
	nd := report.NewNDJSON(out)
	t := tracker.New(cfg, func(c *tracker.Conn) {
		rec := report.NewRecord(name, c)
		if format == "ndjson" {
			if err := nd.Write(&rec); err != nil && writeErr == nil {
				writeErr = err
			}
			return
		}
		recs = append(recs, rec)
	})
	var seg capture.Segment
	ctx := cmd.Context()
	for {
		if err = r.Next(&seg); err != nil {
			break
		}
		if sum.First.IsZero() {
			sum.First = seg.Time
		}
		t.Track(&seg)
		if r.Stats.Packets%65536 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			break
		}
	}
	if err == io.EOF {
		err = nil
	}
	t.Flush()
	slices.SortFunc(recs, func(a, b report.Record) int { return int(a.ID) - int(b.ID) })
	sum.Stats, sum.Problems = r.Stats, r.Problems
	if err == nil {
		err = writeErr
	}
	return recs, sum, err
}
