package tracker

import (
	"fmt"
	"time"
)

// Config holds the timers of the operating system whose sockets the capture
// shows, in capture time.
type Config struct {
	// MSL is the maximum segment lifetime; TIME_WAIT lasts 2*MSL.
	MSL time.Duration
	// ConnectTimeout is how long a SYN goes unanswered before the client
	// gives up (Linux: 6 retries, about 127 s).
	ConnectTimeout time.Duration
	// IdleTimeout ends a connection nothing was seen on for this long.
	IdleTimeout time.Duration
	// ClosedLinger is how long a connection both of whose sides are closed
	// is kept for late segments (retransmitted FINs, data after RST)
	// before it is handed on.
	ClosedLinger time.Duration
	// CloseWaitThreshold is how long a side may stay in CLOSE_WAIT, while
	// the capture goes on, before close-wait-stuck is reported.
	CloseWaitThreshold time.Duration
	// FinWait2Timeout is the OS's FIN_WAIT_2 timeout (Linux
	// tcp_fin_timeout, 60 s) for fin-wait-2-stuck.
	FinWait2Timeout time.Duration
	// MaxConns bounds the connections held in memory; when a new one would
	// exceed it, the least recently active is evicted (table-full). 0: no
	// bound.
	MaxConns int
	// Workers is how many goroutines the command line tracks on: 1 for a
	// Tracker, more for a Sharded (NewSharded takes its own count).
	Workers int
	// Prepare, when set, is called with every connection about to be
	// handed on, finished and final but for its ID, which a Sharded
	// assigns later; what it appends to b is handed on in Conn.Prepared.
	// In a Sharded it runs on the worker goroutines, so work done here
	// (formatting the record) runs on every core instead of on the one
	// that hands connections on.
	Prepare func(b []byte, c *Conn) []byte
	// Park keeps a connection that has seen nothing but its client's SYNs
	// for two seconds as those SYNs alone (see parked), a fifth of its
	// memory, until its next packet or its timeout. It is not done while
	// OnEvent is set or with MaxConns, and Conns does not list parked
	// connections.
	Park bool
}

// Profiles are the timer defaults of each operating system: Linux keeps
// TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN), Windows for 240 s (MSL 120 s), the
// BSDs and macOS use an MSL of 30 s.
var Profiles = map[string]Config{
	"linux":   {MSL: 30 * time.Second, ConnectTimeout: 127 * time.Second, FinWait2Timeout: 60 * time.Second},
	"windows": {MSL: 120 * time.Second, ConnectTimeout: 21 * time.Second, FinWait2Timeout: 120 * time.Second},
	"bsd":     {MSL: 30 * time.Second, ConnectTimeout: 75 * time.Second, FinWait2Timeout: 60 * time.Second},
}

// DefaultIdleTimeout matches Zeek's tcp_inactivity_timeout.
const DefaultIdleTimeout = 5 * time.Minute

// DefaultClosedLinger is long enough for a few retransmission timeouts
// (Linux's first is 200 ms plus the round trip, then it doubles) and short
// enough that closed connections do not crowd memory: at 8,000 new
// connections a second, each second of linger holds 8,000 more.
const DefaultClosedLinger = 2 * time.Second

// DefaultCloseWaitThreshold is how long CLOSE_WAIT may last before it is
// reported as stuck.
const DefaultCloseWaitThreshold = 5 * time.Second

// Profile returns the configuration for an operating-system profile name.
func Profile(name string) (Config, error) {
	c, ok := Profiles[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown OS profile %q: use linux, windows or bsd", name)
	}
	c.IdleTimeout = DefaultIdleTimeout
	c.ClosedLinger = DefaultClosedLinger
	c.CloseWaitThreshold = DefaultCloseWaitThreshold
	return c, nil
}
