package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// profileFlags are --cpuprofile and --memprofile, which every command takes
// so that a user who finds tcplens slow can send the profile along.
type profileFlags struct {
	cpu, mem   string
	cpuFile    *os.File
	allocStats bool
	stderr     io.Writer
}

func (p *profileFlags) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile to `FILE` (read it with go tool pprof)")
	f.StringVar(&p.mem, "memprofile", "", "write a memory profile (allocations, and memory in use) to `FILE` when the command ends")
	// For the benchmark command: the allocations of the whole run.
	f.BoolVar(&p.allocStats, "alloc-stats", false, "print the run's heap allocations to stderr at the end")
	f.MarkHidden("alloc-stats")
	p.stderr = root.ErrOrStderr()
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return p.start() }
}

func (p *profileFlags) start() error {
	if p.cpu == "" {
		return nil
	}
	f, err := os.Create(p.cpu)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	p.cpuFile = f
	return nil
}

// stop ends the CPU profile and writes the heap profile. run calls it after
// every command, also a failing one, so that its profile is kept.
func (p *profileFlags) stop() error {
	if p.allocStats {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(p.stderr, "alloc-stats: mallocs=%d bytes=%d gc=%d\n", ms.Mallocs, ms.TotalAlloc, ms.NumGC)
		p.allocStats = false
	}
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		if err := p.cpuFile.Close(); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		p.cpuFile = nil
	}
	if p.mem == "" {
		return nil
	}
	mem := p.mem
	p.mem = ""
	f, err := os.Create(mem)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	runtime.GC()
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	return nil
}
