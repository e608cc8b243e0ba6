// Command tcplens reconstructs the lifecycle of every TCP connection in a
// packet capture.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent is the garbage collector's GOGC unless the user sets one: the
// heap is mostly connections that live for seconds to minutes, so a
// collection every 20% of growth instead of 100% keeps peak memory lower
// for a little more CPU in the collector. Measured on synth-20m (one
// core): 201 MB at 100, 160 MB at 30, 148-150 MB at 20; at 20 a run of
// synth-10m took some 5% more CPU than at 30, and 131-134 MB instead of
// 138-141.
const gcPercent = 20

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
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
