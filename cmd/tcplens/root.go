package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// errReported means the error was already printed to stderr.
var errReported = errors.New("errors reported")

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer, prof *profileFlags) *cobra.Command {
	root := &cobra.Command{
		Use:   "tcplens",
		Short: "Reconstruct the lifecycle of every TCP connection in a packet capture",
		Long: `tcplens reads packet captures (pcap or pcapng, optionally gzipped) and
reconstructs every TCP connection in them: both sides' RFC 9293 states at
every packet, how the connection opened and how it ended.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	prof.register(root)
	root.AddCommand(newReadCmd(), newAnomaliesCmd(), newLadderCmd(), newReportCmd(), newSniffCmd(), newInterfacesCmd())
	return root
}
