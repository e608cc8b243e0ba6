package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

func newReadCmd() *cobra.Command {
	var tf trackerFlags
	var format string
	cmd := &cobra.Command{
		Use:   "read FILE...",
		Short: "Analyse capture files and print one record per TCP connection",
		Long: `Read analyses each capture file (pcap or pcapng, optionally gzipped; "-" is
standard input) on its own and prints one record per TCP connection:
client and server, start and duration, packets and bytes each way, the
states each side went through, how the connection ended and its anomalies.`,
		Example: `  tcplens read testdata/demo.pcapng
  tcplens read --format json capture.pcap
  tcplens read --format csv *.pcap > connections.csv
  tcpdump -w - -i eth0 | tcplens read --format ndjson -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := tf.fileConfig(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			switch format {
			case "table", "json", "ndjson", "csv":
			default:
				return fmt.Errorf("unknown format %q: use table, json, ndjson or csv", format)
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			var allDocs []report.Doc
			failed := false
			// NDJSON records of a file go out through a buffer (flushed
			// after each file), not in a write of their own; their tails
			// are formatted on the tracker's workers. From standard input or
			// a FIFO, which may be a capture still being written, each
			// record goes out as its connection ends (settings.flush).
			bw := bufio.NewWriterSize(out, 256<<10)
			nd := report.NewNDJSON(bw)
			// CSV lines go out as NDJSON records do, in the order their
			// connections end, under one header for all the files.
			cw := report.NewCSV(bw)
			if format == "ndjson" || format == "json" {
				cfg.Prepare = report.PrepareConn
			}
			var heads report.Heads
			var arena []byte // the JSON documents, in chunks
			for i, name := range args {
				var rows []report.TableRow
				var sum *report.Summary
				var err error
				switch format {
				case "ndjson":
					set := cfg
					set.flush = bw.Flush
					sum, err = analyseConns(cmd.Context(), cmd.InOrStdin(), name, set, func(c *tracker.Conn) error {
						return nd.WritePrepared(name, c)
					})
					if ferr := bw.Flush(); err == nil {
						err = ferr
					}
				case "csv":
					set := cfg
					set.flush = func() error {
						if err := cw.Flush(); err != nil {
							return err
						}
						return bw.Flush()
					}
					sum, err = analyse(cmd.Context(), cmd.InOrStdin(), name, set, cw.Write)
					if ferr := set.flush(); err == nil {
						err = ferr
					}
				case "json":
					// Compact records, a quarter of the memory of Records,
					// sorted and indented at the end.
					var docs []report.Doc
					sum, err = analyseConns(cmd.Context(), cmd.InOrStdin(), name, cfg, func(c *tracker.Conn) error {
						if cap(arena)-len(arena) < 64<<10 {
							arena = make([]byte, 0, 4<<20)
						}
						at := len(arena)
						arena = heads.AppendPrepared(arena, name, c)
						docs = append(docs, report.Doc{ID: c.ID, JSON: arena[at:len(arena):len(arena)]})
						return nil
					})
					slices.SortFunc(docs, func(a, b report.Doc) int { return cmp.Compare(a.ID, b.ID) })
					allDocs = append(allDocs, docs...)
				default:
					// Each connection's row, not its record, until the rows
					// are sorted and written.
					sum, err = analyse(cmd.Context(), cmd.InOrStdin(), name, cfg, func(r *report.Record) error {
						rows = append(rows, report.NewTableRow(r))
						return nil
					})
					slices.SortFunc(rows, func(a, b report.TableRow) int { return cmp.Compare(a.ID(), b.ID()) })
				}
				if format == "table" && sum != nil {
					if i > 0 {
						fmt.Fprintln(out)
					}
					if werr := writeTable(out, rows, *sum); werr != nil {
						return werr
					}
				}
				if err != nil {
					fmt.Fprintln(errOut, "tcplens:", err)
					failed = true
				}
			}
			if format == "json" {
				if err := report.WriteJSONDocs(out, allDocs); err != nil {
					return err
				}
			}
			if failed {
				return errReported
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "o", "table", "output format: table, json, ndjson or csv")
	tf.register(cmd.Flags())
	tf.registerQuiet(cmd.Flags())
	return cmd
}

// writeTable writes a file's table. tablewriter makes some 18 KB of
// garbage a row while little but the rows is alive: with the collector at
// its usual pace it would run every few MB and mark the rows each time
// (most of the 11 s the 163,000 rows of synth-2m took). The pacer pauses
// it while the table is drawn, so that it runs only when the heap reaches
// the memory the process already holds from tracking: the table costs no
// more memory than tracking did.
func writeTable(w io.Writer, rows []report.TableRow, sum report.Summary) error {
	defer pacer.pause()()
	return report.WriteTableRows(w, rows, sum)
}
