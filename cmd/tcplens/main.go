// Command tcplens reconstructs the lifecycle of every TCP connection in a
// packet capture.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A GOMEMLIMIT of the user's is a cap the pacer's goals stay under:
	// only a GOGC of theirs replaces it.
	if os.Getenv("GOGC") == "" {
		pacer.start()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == errAnomalies:
		os.Exit(3)
	case err == errReported:
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "tcplens:", err)
		os.Exit(1)
	}
}

// run is the whole program, with its environment passed in so tests can
// call it with buffers.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	prof := &profileFlags{}
	root := newRootCmd(stdin, stdout, stderr, prof)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if perr := prof.stop(); err == nil {
		err = perr
	}
	return err
}
