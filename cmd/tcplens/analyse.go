package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/capture/filter"
	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

// trackerFlags are the analysis settings every analysing command takes.
type trackerFlags struct {
	osProfile   string
	msl         time.Duration
	idleTimeout time.Duration
	closeWait   time.Duration
	workers     int
	filter      string
	quiet       bool
}

// settings are the analysis settings of one command run.
type settings struct {
	tracker.Config
	filter   *filter.Filter // nil: every packet
	progress io.Writer      // where progress bars go; nil: none
	// flush, when set, is called after each connection handed on from a
	// capture that is not a regular file (standard input, a FIFO): such a
	// capture may still be being written, so its records go out as their
	// connections end.
	flush func() error
	// onStep, when set, is handed every segment a connection takes
	// (tracker.OnStep); the capture is then read by one tracker.
	onStep func(tracker.Step)
	// stepWant, when set, narrows onStep to the connections it accepts
	// (tracker.OnStepOf): the others may then be parked.
	stepWant func(id uint64) bool
	// onFirst, when set, is told the time START counts from (the file's
	// first TCP segment) before the first segment is tracked.
	onFirst func(time.Time)
}

func (o *trackerFlags) register(f *pflag.FlagSet) {
	f.StringVar(&o.osProfile, "os", "linux", "OS profile for TIME_WAIT and timeouts: linux, windows or bsd")
	f.DurationVar(&o.msl, "msl", 0, "maximum segment lifetime; TIME_WAIT lasts 2*MSL (default from --os)")
	f.DurationVar(&o.idleTimeout, "idle-timeout", tracker.DefaultIdleTimeout, "end a connection after this much capture time without packets")
	f.DurationVar(&o.closeWait, "close-wait", tracker.DefaultCloseWaitThreshold, "report close-wait-stuck when a side stays in CLOSE_WAIT this long")
	f.StringVarP(&o.filter, "filter", "f", "", "analyse only the packets this tcpdump-syntax filter selects (see the README for what works without tcpdump)")
	f.IntVar(&o.workers, "workers", 0, "goroutines tracking connections (the output does not depend on it); 0: one per CPU")
}

// registerQuiet adds --quiet, for the commands that read files.
func (o *trackerFlags) registerQuiet(f *pflag.FlagSet) {
	f.BoolVarP(&o.quiet, "quiet", "q", false, "draw no progress bar (one is drawn on a terminal while a file over 8 MB is read)")
}

func (o *trackerFlags) config() (settings, error) {
	cfg, err := tracker.Profile(o.osProfile)
	if err != nil {
		return settings{}, err
	}
	if o.workers < 0 {
		return settings{}, fmt.Errorf("--workers %d: want 0 (one per CPU) or more", o.workers)
	}
	var flt *filter.Filter
	if o.filter != "" {
		if flt, err = filter.New(o.filter, true); err != nil {
			return settings{}, err
		}
	}
	cfg.Workers = o.workers
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if o.msl > 0 {
		cfg.MSL = o.msl
	}
	cfg.IdleTimeout = o.idleTimeout
	cfg.CloseWaitThreshold = o.closeWait
	return settings{Config: cfg, filter: flt}, nil
}

// fileConfig is config for the commands that read files: a progress bar
// on stderr unless --quiet, and connections that have seen only SYNs
// parked (files are read without events or a table limit).
func (o *trackerFlags) fileConfig(stderr io.Writer) (settings, error) {
	set, err := o.config()
	set.progress = progressTo(stderr, o.quiet)
	set.Park = true
	return set, err
}

// connTracker is a Tracker or a Sharded.
type connTracker interface {
	Track(*capture.Segment)
	Flush()
	Late() int64
	Open() int
	Release(*tracker.Conn)
}

// analyse reads one capture and hands each finished connection's record to
// onRecord, in the order connections finish. On a damaged file the records
// read before the damage are handed on, then the error is returned; a file
// that cannot be opened as a capture has no summary.
func analyse(ctx context.Context, stdin io.Reader, name string, set settings, onRecord func(*report.Record) error) (*report.Summary, error) {
	return analyseConns(ctx, stdin, name, set, func(c *tracker.Conn) error {
		rec := report.NewRecord(name, c)
		return onRecord(&rec)
	})
}

// analyseConns is analyse handing on the finished connections themselves;
// onConn must keep nothing of them.
func analyseConns(ctx context.Context, stdin io.Reader, name string, set settings, onConn func(*tracker.Conn) error) (*report.Summary, error) {
	cfg := set.Config
	var r *capture.Reader
	var err error
	if name == "-" {
		r, err = capture.NewReader("<stdin>", stdin)
	} else {
		r, err = capture.Open(name)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if set.filter != nil {
		r.Filter = set.filter.Match
	}

	sum := &report.Summary{File: name}
	// Standard input, a FIFO or a device may be a capture still being
	// written; only a regular file has a size.
	stream := r.Size() == 0
	var emitErr error
	var t connTracker
	emit := func(c *tracker.Conn) {
		err := onConn(c)
		if err == nil && stream && set.flush != nil {
			err = set.flush()
		}
		if err != nil && emitErr == nil {
			emitErr = err
		}
		t.Release(c) // onConn keeps nothing of c
	}
	one := tracker.New(cfg, emit)
	t = one
	// From a stream, one tracker hands each connection on as it ends,
	// where workers would hold it until a batch of 2,048 packets had come.
	if set.onStep != nil {
		one.OnStepOf(set.onStep, set.stepWant)
	} else if cfg.Workers > 1 && !stream {
		t = tracker.NewSharded(cfg, cfg.Workers, emit)
	}
	var bar *progress
	if set.progress != nil && r.Size() > 0 {
		bar = startProgress(set.progress, name, r.Size())
	}
	defer bar.stop()
	// A Sharded lends the slot the segment is to be tracked from, which
	// spares a copy per packet.
	slots, _ := t.(interface{ Slot() *capture.Segment })
	var scratch capture.Segment
	firstSet := false
	// Every 65,536 frames read, filtered and non-TCP ones included (Next
	// returns only segments, so the count can pass a multiple unseen).
	check := r.Stats.Packets + 65536
	for {
		seg := &scratch
		if slots != nil {
			seg = slots.Slot()
		}
		if err = r.Next(seg); err != nil {
			break
		}
		if !firstSet {
			// The file's first TCP segment, which a filter may have left
			// out: START and the ladder's TIME count from it.
			sum.First = r.FirstTCP()
			firstSet = true
			if set.onFirst != nil {
				set.onFirst(sum.First)
			}
		}
		t.Track(seg)
		if r.Stats.Packets >= check {
			check = r.Stats.Packets + 65536
			if ctx.Err() != nil {
				err = fmt.Errorf("%s: %w", name, ctx.Err())
				break
			}
			bar.update(r.BytesRead(), r.Stats.Packets, t.Open())
		}
	}
	if err == io.EOF {
		err = nil
	}
	t.Flush()
	sum.Stats, sum.Problems, sum.Late = r.Stats, r.Problems, t.Late()
	if err == nil {
		err = emitErr
	}
	return sum, err
}
