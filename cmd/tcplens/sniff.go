package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/capture/live"
	"github.com/tcplens/tcplens/report"
	"github.com/tcplens/tcplens/tracker"
)

// defaultMaxConns bounds memory under a SYN flood: a connection costs
// about 2 KB, so 250,000 of them about 500 MB.
const defaultMaxConns = 250_000

type sniffOpts struct {
	ifaces   []string
	promisc  bool
	events   bool
	duration time.Duration
	count    int64
	write    string
	format   string
	maxConns int
	summary  string // auto, on, off
	bufferMB int
}

func newSniffCmd() *cobra.Command {
	var tf trackerFlags
	var o sniffOpts
	cmd := &cobra.Command{
		Use:   "sniff -i INTERFACE [flags]",
		Short: "Watch TCP connections' lifecycles on network interfaces as they happen",
		Long: `Sniff captures on one or more interfaces (AF_PACKET, no libpcap needed) and
tracks every TCP connection as read does. Each connection's record is
printed when it finishes (table rows and ndjson lines at once; json, one
array, when the capture stops). With --events every state
transition and anomaly is printed the moment it is inferred. On a terminal
a summary is kept up to date on standard error.

It stops on Ctrl-C or SIGTERM, after --duration or after --count packets:
connections still open are reported as open, the final summary is printed
and the exit status is 0.

Capturing needs root or CAP_NET_RAW (sudo setcap cap_net_raw,cap_net_admin+eip
$(command -v tcplens)).`,
		Example: `  sudo tcplens sniff -i eth0 -f 'tcp port 443'
  sudo tcplens sniff -i any --events --format ndjson
  sudo tcplens sniff -i eth0 -i eth1 --duration 30s -w out.pcapng`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := tf.config()
			if err != nil {
				return err
			}
			switch o.format {
			case "table", "json", "ndjson":
			default:
				return fmt.Errorf("unknown format %q: use table, json or ndjson", o.format)
			}
			if len(o.ifaces) == 0 {
				return errors.New("say which interface to capture on with -i (tcplens interfaces lists them; -i any for all)")
			}
			if o.bufferMB < 1 || o.bufferMB > 4096 {
				return fmt.Errorf("--buffer-size %d: want 1 to 4096 (MiB)", o.bufferMB)
			}
			if o.maxConns < 0 {
				return fmt.Errorf("--max-conns %d: want 0 (no limit) or more", o.maxConns)
			}
			set.MaxConns = o.maxConns
			return sniff(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), set, o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.ifaces, "interface", "i", nil, "interface to capture on; repeat for several; any: every interface that is up")
	f.BoolVar(&o.promisc, "promisc", false, "put the interfaces in promiscuous mode")
	f.BoolVar(&o.events, "events", false, "print every state transition and anomaly as it is inferred")
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until Ctrl-C or SIGTERM)")
	f.Int64Var(&o.count, "count", 0, "stop after this many packets (0: no limit)")
	f.StringVarP(&o.write, "write", "w", "", "also write the captured packets to this pcapng file")
	f.StringVarP(&o.format, "format", "o", "table", "output format: table, json or ndjson")
	f.IntVar(&o.maxConns, "max-conns", defaultMaxConns, "connections held at most; beyond, the least recently active is evicted (table-full)")
	f.StringVar(&o.summary, "summary", "auto", "live summary on standard error: auto (when it is a terminal), on or off")
	f.IntVarP(&o.bufferMB, "buffer-size", "B", live.DefaultBufferMB, "kernel ring buffer per interface, in MiB: more absorbs longer stalls before the kernel drops packets")
	tf.register(f)
	// One tracker follows a live capture: --workers would change nothing.
	f.MarkHidden("workers")
	return cmd
}

// sniffState is what the live summary shows.
type sniffState struct {
	start     time.Time
	packets   int64
	tcp       int64
	finished  int64
	received  uint64
	dropped   uint64
	evicted   int64
	anomalies []string // the latest, newest last
	outcomes  map[string]int
}

func sniff(ctx context.Context, stdout, stderr io.Writer, set settings, o sniffOpts) error {
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	src, err := live.Open(live.Options{Interfaces: o.ifaces, Promisc: o.promisc, Filter: set.filter, BufferMB: o.bufferMB})
	if err != nil {
		return err
	}
	defer src.Close()
	names := make([]string, 0, len(src.Interfaces()))
	for _, it := range src.Interfaces() {
		names = append(names, it.Name)
	}
	fmt.Fprintf(stderr, "tcplens: capturing on %s\n", strings.Join(names, ", "))

	var w *pcapgo.NgWriter
	if o.write != "" {
		f, err := os.Create(o.write)
		if err != nil {
			return err
		}
		defer f.Close()
		ifs := src.Interfaces()
		w, err = pcapgo.NewNgWriterInterface(f, ngInterface(ifs[0]), pcapgo.DefaultNgWriterOptions)
		if err != nil {
			return err
		}
		for _, it := range ifs[1:] {
			if _, err := w.AddInterface(ngInterface(it)); err != nil {
				return err
			}
		}
		defer w.Flush()
	}

	st := &sniffState{start: time.Now(), outcomes: map[string]int{}}
	scr := newScreen(stderr, o.summary)
	name := "live:" + strings.Join(names, ",")
	var recs []report.Record
	nd := report.NewNDJSON(stdout)
	var table *report.TableStream
	if o.format == "table" {
		if table, err = report.NewTableStream(stdout, st.start); err != nil {
			return err
		}
	}
	var outErr error
	emit := func(c *tracker.Conn) {
		st.finished++
		st.outcomes[c.Outcome().ID]++
		scr.hide()
		var werr error
		switch o.format {
		case "ndjson":
			werr = nd.WriteConn(name, c)
		case "table":
			rec := report.NewRecord(name, c)
			werr = table.Append(&rec)
		default:
			recs = append(recs, report.NewRecord(name, c))
		}
		if werr != nil && outErr == nil {
			outErr = werr
		}
	}
	tr := tracker.New(set.Config, emit)
	tr.OnEvent(func(e tracker.Event) {
		if e.Anomaly != nil {
			st.anomalies = append(st.anomalies, fmt.Sprintf("%s %s: %s", e.Conn.Client, e.Anomaly.ID, e.Anomaly.Text))
			if len(st.anomalies) > 5 {
				st.anomalies = st.anomalies[1:]
			}
		}
		if o.events {
			scr.hide()
			writeEvent(stdout, e, o.format)
		}
	})

	dec := capture.NewDecoder()
	var seg capture.Segment
	var frame int64
	var lastDrops uint64
	nextTick := time.Now().Add(time.Second)
	for o.count == 0 || st.packets < o.count {
		p, ok, err := src.Next(ctx, 200*time.Millisecond)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				break
			}
			return err
		}
		if ok {
			frame++
			st.packets++
			if w != nil {
				if err := w.WritePacket(p.CI, p.Data); err != nil {
					return err
				}
			}
			if dec.Decode(p.Data, p.Link, &seg) == capture.ReasonNone {
				seg.Frame, seg.Time, seg.Interface = frame, p.CI.Timestamp, p.Interface
				st.tcp++
				tr.Track(&seg)
			}
		}
		if now := time.Now(); !now.Before(nextTick) {
			nextTick = now.Add(time.Second)
			tr.Advance(now)
			recv, drops := src.Stats()
			if drops > lastDrops {
				tr.NoteCaptureLoss(drops - lastDrops)
				lastDrops = drops
			}
			st.received, st.dropped, st.evicted = recv, drops, tr.Evicted()
			scr.draw(st, tr)
		}
	}
	tr.Flush()
	scr.hide()
	st.received, st.dropped = src.Stats()
	st.evicted = tr.Evicted()
	switch o.format {
	case "table":
		sum := report.Summary{File: name, First: st.start, Late: tr.Late()}
		sum.Stats.Packets = st.packets
		sum.Stats.ByReason[capture.ReasonNone] = st.tcp
		if err := table.Close(sum); err != nil {
			return err
		}
	case "json":
		if err := report.WriteJSON(stdout, recs); err != nil {
			return err
		}
	}
	fmt.Fprintln(stderr, finalSummary(st))
	return outErr
}

func ngInterface(it live.Interface) pcapgo.NgInterface {
	return pcapgo.NgInterface{Name: it.Name, LinkType: it.Link, SnapLength: 65536, TimestampResolution: 9}
}

// writeEvent prints one transition or anomaly.
func writeEvent(w io.Writer, e tracker.Event, format string) {
	c := e.Conn
	if format == "ndjson" {
		_, _ = w.Write(report.AppendEvent(nil, e))
		return
	}
	if t := e.Transition; t != nil {
		fmt.Fprintf(w, "%s %s > %s  %s %s -> %s (%s, frame %d)\n", c.Time(t.Offset).Format("15:04:05.000000"), c.Client, c.Server, t.Side, t.From, t.To, t.Rule, t.Frame)
		return
	}
	a := e.Anomaly
	fmt.Fprintf(w, "%s %s > %s  %s %s (%s): %s\n", a.Time.Format("15:04:05.000000"), c.Client, c.Server, a.Severity, a.ID, a.Side, a.Text)
}

func finalSummary(st *sniffState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tcplens: %d packets captured in %s, %d TCP; the kernel dropped %d", st.packets, time.Since(st.start).Round(time.Millisecond), st.tcp, st.dropped)
	fmt.Fprintf(&b, "; %s reported", report.Plural(int64(st.finished), "connection"))
	if st.evicted > 0 {
		fmt.Fprintf(&b, ", %d evicted from the full table (table-full)", st.evicted)
	}
	var parts []string
	for _, id := range tracker.OutcomeIDs {
		if n := st.outcomes[id]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, id))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	if st.dropped > 0 {
		b.WriteString("\ntcplens: connections open while the kernel dropped packets are marked capture_loss: their states may be incomplete")
	}
	return b.String()
}

// screen keeps the live summary at the bottom of a terminal: it erases it
// before anything else is printed and draws it again every second.
type screen struct {
	w     io.Writer
	on    bool
	lines int
}

func newScreen(w io.Writer, mode string) *screen {
	s := &screen{w: w}
	switch mode {
	case "on":
		s.on = true
	case "auto":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			s.on = true
		}
	}
	return s
}

func (s *screen) hide() {
	if s.lines > 0 {
		fmt.Fprintf(s.w, "\x1b[%dA\x1b[J", s.lines)
		s.lines = 0
	}
}

func (s *screen) draw(st *sniffState, tr *tracker.Tracker) {
	if !s.on {
		return
	}
	s.hide()
	var states [2]map[tracker.State]int
	states[0], states[1] = map[tracker.State]int{}, map[tracker.State]int{}
	tr.Conns(func(c *tracker.Conn) {
		states[0][c.State[tracker.Client]]++
		states[1][c.State[tracker.Server]]++
	})
	elapsed := time.Since(st.start)
	var lines []string
	lines = append(lines, fmt.Sprintf("── tcplens sniff ── %s ── %d packets, %d TCP, kernel: %d received, %d dropped ── %d finished (%.1f/s)",
		elapsed.Round(time.Second), st.packets, st.tcp, st.received, st.dropped, st.finished, float64(st.finished)/max(elapsed.Seconds(), 1)))
	lines = append(lines, fmt.Sprintf("open: %d connections%s", tr.Open(), evictedNote(st.evicted)))
	for side, name := range [2]string{"client", "server"} {
		var parts []string
		keys := make([]tracker.State, 0, len(states[side]))
		for k := range states[side] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, states[side][k]))
		}
		lines = append(lines, fmt.Sprintf("  %s: %s", name, strings.Join(parts, ", ")))
	}
	if len(st.anomalies) > 0 {
		lines = append(lines, "latest anomalies:")
		for _, a := range st.anomalies {
			if len(a) > 160 {
				a = a[:157] + "..."
			}
			lines = append(lines, "  "+a)
		}
	}
	fmt.Fprintln(s.w, strings.Join(lines, "\n"))
	s.lines = len(lines)
}

func evictedNote(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d evicted (table-full)", n)
}

// interfaces lists what can be captured.
func newInterfacesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "interfaces",
		Short: "List the network interfaces tcplens sniff can capture on",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ifs, err := live.Interfaces()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, it := range ifs {
				state := "down"
				if it.Up {
					state = "up"
				}
				link := linkName(it.Link)
				if !it.Supported {
					link = fmt.Sprintf("not decoded (ARPHRD %d)", it.HWType)
				}
				fmt.Fprintf(out, "%-16s %-4s %-24s %s\n", it.Name, state, link, strings.Join(it.Addrs, " "))
			}
			return nil
		},
	}
}

func linkName(l layers.LinkType) string {
	switch l {
	case layers.LinkTypeEthernet:
		return "Ethernet"
	case layers.LinkTypeRaw:
		return "raw IP"
	}
	return l.String()
}
