package main

// The anomaly scenarios recorded by testdata/record-anomalies.sh into
// testdata/anomalies/*.pcapng, one capture per scenario. See
// testdata/anomalies/README.md.
//
// Each scenario runs "anomaly-server -scenario NAME" in the server namespace
// and "anomaly-client -scenario NAME" in the client namespace. Where the
// script has to act at a precise moment (take an ss snapshot, install an
// nftables rule), the program prints "wait STEP" and blocks until the script
// creates the file CTL/STEP (see step). Every blocking operation has a
// deadline, and a watchdog ends each process after -limit.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Anomaly scenario server ports; the client source port is 41000+N for the
// main connection of scenario N and 41010+N for a second one.
const (
	portCloseWait     = 9001 // server never closes: CLOSE_WAIT
	portFinalAckDrop  = 9002 // the final ACK is dropped: LAST_ACK retransmits FIN
	portLoss          = 9003 // bulk upload through a router dropping ~5%
	portAbortive      = 9004 // server RSTs: SO_LINGER 0, and unread data
	portConnRefused   = 9005 // nothing listens
	portSynUnanswered = 9006 // SYNs dropped by nftables, client times out
	portReuseTW       = 9007 // reconnect on a 4-tuple the server holds in TIME_WAIT
	portZeroWindow    = 9008 // receiver stops reading: zero window, probes
)

// Sizes of the bulk transfers.
const (
	lossBytes        = 1 << 20   // loss: client -> server
	zeroWindowBytes  = 256 << 10 // zero-window: client -> server
	zeroWindowRcvBuf = 16 << 10  // SO_RCVBUF of the zero-window listener
)

// aport returns the fixed client source port for a server port: 9001 ->
// 41001; second connections use aport2 (9001 -> 41011).
func aport(serverPort int) int  { return serverPort - 9000 + 41000 }
func aport2(serverPort int) int { return serverPort - 9000 + 41010 }

var anomalyNames = []string{
	"close-wait", "final-ack-dropped", "loss", "abort", "refused",
	"syn-unanswered", "reuse-time-wait", "zero-window",
}

// actl is what both sides of an anomaly scenario share.
type actl struct {
	ctl    string // directory with the script's go-ahead files
	server string // server address
	client string // client address
	log    logFunc
}

// step prints "wait NAME" and waits up to 30 s for the script to create
// ctl/NAME.
func (a *actl) step(name string) error {
	a.log("wait %s", name)
	path := filepath.Join(a.ctl, name)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("timed out waiting for %s", path)
}

// watchdog ends the process after limit, whatever it is doing.
func watchdog(limit time.Duration, log logFunc) {
	time.AfterFunc(limit, func() {
		log("watchdog: %v limit reached, exiting", limit)
		os.Exit(3)
	})
}

func runAnomaly(role string, args []string, log logFunc) error {
	fs := flag.NewFlagSet("anomaly-"+role, flag.ExitOnError)
	scenario := fs.String("scenario", "", "scenario: "+strings.Join(anomalyNames, ", "))
	server := fs.String("server", "10.214.0.2", "server address")
	client := fs.String("client", "10.214.0.1", "client address")
	ctl := fs.String("ctl", ".", "directory the script creates go-ahead files in")
	limit := fs.Duration("limit", 60*time.Second, "exit after this long, whatever happens")
	_ = fs.Parse(args)
	watchdog(*limit, log)
	a := &actl{ctl: *ctl, server: *server, client: *client, log: log}
	if role == "server" {
		return a.runServer(*scenario)
	}
	return a.runClient(*scenario)
}

// ---------------------------------------------------------------- helpers

// readLine reads up to and including '\n' one byte at a time, so nothing
// after the line is taken out of the socket's receive buffer.
func readLine(c net.Conn) (string, error) {
	var b [1]byte
	var line []byte
	for len(line) < 256 {
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return string(line), err
		}
		line = append(line, b[0])
		if b[0] == '\n' {
			return string(line), nil
		}
	}
	return string(line), errors.New("line too long")
}

// setSockopt returns a Control function for net.Dialer / net.ListenConfig
// that sets SOL_SOCKET options before bind.
func setSockopt(opts map[int]int) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			for opt, val := range opts {
				if serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, val); serr != nil {
					return
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// adial connects from client:sport to server:port.
func (a *actl) adial(sport, port int, timeout time.Duration, reuseAddr bool) (*net.TCPConn, error) {
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(a.client), Port: sport},
		Timeout:   timeout,
		KeepAlive: -1, // no keep-alive probes in the captures
	}
	if reuseAddr {
		d.Control = setSockopt(map[int]int{syscall.SO_REUSEADDR: 1})
	}
	c, err := d.Dial("tcp4", net.JoinHostPort(a.server, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
	return tc, nil
}

func (a *actl) listen(port int, opts map[int]int) (*net.TCPListener, error) {
	// Plain TCP (Go listens with MPTCP by default where the kernel has it)
	// and no keep-alive probes on accepted connections.
	lc := net.ListenConfig{KeepAlive: -1}
	lc.SetMultipathTCP(false)
	if opts != nil {
		lc.Control = setSockopt(opts)
	}
	ln, err := lc.Listen(context.Background(), "tcp4", net.JoinHostPort(a.server, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

// serve accepts connections on ln and runs handle for each in a goroutine.
func (a *actl) serve(ln *net.TCPListener, handle func(*net.TCPConn) error) {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			a.log("accept %v: %v", ln.Addr(), err)
			return
		}
		a.log("%v: accepted %v", c.LocalAddr(), c.RemoteAddr())
		_ = c.SetDeadline(time.Now().Add(45 * time.Second))
		go func() {
			if err := handle(c); err != nil {
				a.log("%v <- %v: %v", c.LocalAddr(), c.RemoteAddr(), err)
			}
		}()
	}
}

// expectReset reads from c and checks that the read fails with ECONNRESET.
func expectReset(c *net.TCPConn) error {
	var buf [512]byte
	for {
		_, err := c.Read(buf[:])
		if err == nil {
			continue
		}
		if errors.Is(err, syscall.ECONNRESET) {
			return nil
		}
		return fmt.Errorf("expected connection reset, got %v", err)
	}
}

// held keeps connections that must never be closed reachable, so that no
// finalizer closes them.
var held []*net.TCPConn

// ---------------------------------------------------------------- server

func (a *actl) runServer(scenario string) error {
	var (
		port   int
		opts   map[int]int
		handle func(*net.TCPConn) error
	)
	switch scenario {
	case "close-wait":
		port, handle = portCloseWait, a.serveCloseWait
	case "final-ack-dropped":
		port, handle = portFinalAckDrop, a.serveFinalAckDrop
	case "loss":
		port, handle = portLoss, a.serveLoss
	case "abort":
		port, handle = portAbortive, a.serveAbortive
	case "refused":
		// Nothing listens on portConnRefused.
	case "syn-unanswered":
		// A listener that never sees a SYN: nftables drops them first.
		port, handle = portSynUnanswered, func(c *net.TCPConn) error {
			held = append(held, c)
			return errors.New("unexpected connection")
		}
	case "reuse-time-wait":
		port, handle = portReuseTW, a.serveReuseTW
	case "zero-window":
		port, handle = portZeroWindow, a.serveZeroWindow
		opts = map[int]int{syscall.SO_RCVBUF: zeroWindowRcvBuf}
	default:
		return fmt.Errorf("unknown scenario %q", scenario)
	}
	if handle != nil {
		ln, err := a.listen(port, opts)
		if err != nil {
			return err
		}
		go a.serve(ln, handle)
	}
	a.log("ready")
	waitForSignal()
	return nil
}

// serveCloseWait: on "hello" answer, read until the client's FIN and then
// never close (CLOSE_WAIT until the process is killed). On "tick" echo
// every byte until EOF, then close.
func (a *actl) serveCloseWait(c *net.TCPConn) error {
	line, err := readLine(c)
	if err != nil {
		return err
	}
	switch line {
	case "hello\n":
		if _, err := c.Write([]byte("hi\n")); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, c); err != nil {
			return err
		}
		held = append(held, c)
		_ = c.SetDeadline(time.Time{})
		a.log("9001: client closed; not closing (CLOSE_WAIT)")
		return nil
	case "tick\n":
		defer c.Close()
		_, err := io.Copy(c, c)
		a.log("9001: ticker ended (err=%v)", err)
		return err
	}
	c.Close()
	return fmt.Errorf("unexpected %q", line)
}

// serveFinalAckDrop: answer, read until the client's FIN, wait for the
// script (which installs the drop rule), then close.
func (a *actl) serveFinalAckDrop(c *net.TCPConn) error {
	defer c.Close()
	if _, err := readLine(c); err != nil {
		return err
	}
	if _, err := c.Write([]byte("hi\n")); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return err
	}
	a.log("9002: client closed")
	if err := a.step("server-close"); err != nil {
		return err
	}
	a.log("9002: closing")
	return nil
}

// serveLoss: read everything, answer with the byte count, wait for the
// client's FIN and close.
func (a *actl) serveLoss(c *net.TCPConn) error {
	defer c.Close()
	n, err := io.CopyN(io.Discard, c, lossBytes)
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", n, err)
	}
	if _, err := fmt.Fprintf(c, "got %d\n", n); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, c)
	a.log("9003: received %d bytes, client closed (err=%v)", n, err)
	return err
}

// serveAbortive: "abort" is answered and then the connection is closed with
// SO_LINGER 0; "unread" is answered and then, with the client's next line
// still unread, the connection is closed normally. Both make the kernel
// send RST.
func (a *actl) serveAbortive(c *net.TCPConn) error {
	defer c.Close()
	line, err := readLine(c)
	if err != nil {
		return err
	}
	switch line {
	case "abort\n":
		if _, err := c.Write([]byte("bye\n")); err != nil {
			return err
		}
		if err := a.step("server-abort"); err != nil {
			return err
		}
		if err := c.SetLinger(0); err != nil {
			return err
		}
		a.log("9004: aborting with SO_LINGER 0")
	case "unread\n":
		if _, err := c.Write([]byte("ok\n")); err != nil {
			return err
		}
		if err := a.step("server-close-unread"); err != nil {
			return err
		}
		a.log("9004: closing with unread data")
	default:
		return fmt.Errorf("unexpected %q", line)
	}
	return nil
}

// serveReuseTW answers one line and closes first (the server keeps
// TIME_WAIT).
func (a *actl) serveReuseTW(c *net.TCPConn) error {
	defer c.Close()
	line, err := readLine(c)
	if err != nil {
		return err
	}
	_, err = c.Write([]byte("re: " + line))
	a.log("9007: answered %q from %v, closing first", line, c.RemoteAddr())
	return err
}

// serveZeroWindow does not read until the script says so, then reads
// everything, answers and closes.
func (a *actl) serveZeroWindow(c *net.TCPConn) error {
	defer c.Close()
	a.log("9008: not reading")
	if err := a.step("server-read"); err != nil {
		return err
	}
	a.log("9008: reading")
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c, "got %d\n", n)
	a.log("9008: received %d bytes", n)
	return err
}

// ---------------------------------------------------------------- client

func (a *actl) runClient(scenario string) error {
	var err error
	switch scenario {
	case "close-wait":
		err = a.clientCloseWait()
	case "final-ack-dropped":
		err = a.clientFinalAckDrop()
	case "loss":
		err = a.clientLoss()
	case "abort":
		err = a.clientAbortive()
	case "refused":
		err = a.clientRefused()
	case "syn-unanswered":
		err = a.clientSynUnanswered()
	case "reuse-time-wait":
		err = a.clientReuseTW()
	case "zero-window":
		err = a.clientZeroWindow()
	default:
		err = fmt.Errorf("unknown scenario %q", scenario)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", scenario, err)
	}
	a.log("done")
	return nil
}

// clientCloseWait: a ticker connection exchanges one byte a second; the
// main connection says hello and closes first; the ticker goes on for
// seven more seconds and then closes.
func (a *actl) clientCloseWait() error {
	tick, err := a.adial(aport2(portCloseWait), portCloseWait, 3*time.Second, false)
	if err != nil {
		return err
	}
	defer tick.Close()
	if _, err := tick.Write([]byte("tick\n")); err != nil {
		return err
	}
	ping := func() error {
		var b [1]byte
		if _, err := tick.Write([]byte{'.'}); err != nil {
			return err
		}
		_, err := io.ReadFull(tick, b[:])
		return err
	}
	if err := ping(); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)

	c, err := a.adial(aport(portCloseWait), portCloseWait, 3*time.Second, false)
	if err != nil {
		return err
	}
	if _, err := c.Write([]byte("hello\n")); err != nil {
		c.Close()
		return err
	}
	if _, err := readLine(c); err != nil {
		c.Close()
		return err
	}
	if err := c.Close(); err != nil {
		return err
	}
	a.log("9001: closed (FIN sent)")
	for i := 0; i < 7; i++ {
		time.Sleep(time.Second)
		if err := ping(); err != nil {
			return err
		}
		a.log("9001: tick %d", i+1)
	}
	if err := tick.CloseWrite(); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, tick) // until the server's FIN
	return err
}

// clientFinalAckDrop: exchange a line and close first.
func (a *actl) clientFinalAckDrop() error {
	c, err := a.adial(aport(portFinalAckDrop), portFinalAckDrop, 3*time.Second, false)
	if err != nil {
		return err
	}
	if _, err := c.Write([]byte("hello\n")); err != nil {
		c.Close()
		return err
	}
	if _, err := readLine(c); err != nil {
		c.Close()
		return err
	}
	a.log("9002: closing first")
	return c.Close()
}

// clientLoss uploads lossBytes, reads the server's count, waits for the
// script (ss snapshot with retransmission counters), then closes.
func (a *actl) clientLoss() error {
	c, err := a.adial(aport(portLoss), portLoss, 3*time.Second, false)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for sent := 0; sent < lossBytes; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			return err
		}
	}
	line, err := readLine(c)
	if err != nil {
		return err
	}
	a.log("9003: server says %q", strings.TrimSpace(line))
	if err := a.step("client-close"); err != nil {
		return err
	}
	return nil
}

// clientAbortive runs the two connections of the abort scenario.
func (a *actl) clientAbortive() error {
	// 1. The server aborts with SO_LINGER 0.
	c, err := a.adial(aport(portAbortive), portAbortive, 3*time.Second, false)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("abort\n")); err != nil {
		return err
	}
	if _, err := readLine(c); err != nil {
		return err
	}
	if err := expectReset(c); err != nil {
		return fmt.Errorf("9004 abort: %w", err)
	}
	a.log("9004: first connection reset by the server, as expected")
	time.Sleep(300 * time.Millisecond)

	// 2. The server closes with our second line unread.
	c2, err := a.adial(aport2(portAbortive), portAbortive, 3*time.Second, false)
	if err != nil {
		return err
	}
	defer c2.Close()
	if _, err := c2.Write([]byte("unread\n")); err != nil {
		return err
	}
	if _, err := readLine(c2); err != nil {
		return err
	}
	if _, err := c2.Write([]byte("this line is never read by the server\n")); err != nil {
		return err
	}
	a.log("9004: sent unread data")
	if err := expectReset(c2); err != nil {
		return fmt.Errorf("9004 unread: %w", err)
	}
	a.log("9004: second connection reset by the server, as expected")
	return nil
}

// clientRefused connects to a port nothing listens on.
func (a *actl) clientRefused() error {
	c, err := a.adial(aport(portConnRefused), portConnRefused, 3*time.Second, false)
	if err == nil {
		c.Close()
		return errors.New("connection unexpectedly accepted")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	a.log("9005: refused as expected")
	return nil
}

// clientSynUnanswered connects with an 8 s timeout to a port whose SYNs are
// dropped.
func (a *actl) clientSynUnanswered() error {
	a.log("9006: connecting")
	start := time.Now()
	c, err := a.adial(aport(portSynUnanswered), portSynUnanswered, 8*time.Second, false)
	if err == nil {
		c.Close()
		return errors.New("connection unexpectedly accepted")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	a.log("9006: connect timed out after %.1f s, as expected", time.Since(start).Seconds())
	return nil
}

// clientReuseTW: a first connection the server closes first; then, while
// the server holds that 4-tuple in TIME_WAIT, a second connection from the
// same source port.
func (a *actl) clientReuseTW() error {
	for i, msg := range []string{"first\n", "second\n"} {
		if i == 1 {
			if err := a.step("client-reconnect"); err != nil {
				return err
			}
		}
		c, err := a.adial(aport(portReuseTW), portReuseTW, 3*time.Second, true)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i+1, err)
		}
		if _, err := c.Write([]byte(msg)); err != nil {
			c.Close()
			return err
		}
		reply, err := io.ReadAll(c) // until the server's FIN
		if err != nil {
			c.Close()
			return err
		}
		if err := c.Close(); err != nil {
			return err
		}
		a.log("9007: connection %d from %v: got %q and EOF, closed", i+1, c.LocalAddr(), reply)
	}
	return nil
}

// clientZeroWindow uploads zeroWindowBytes to a server that is not reading
// yet, closes its side and reads the server's count.
func (a *actl) clientZeroWindow() error {
	c, err := a.adial(aport(portZeroWindow), portZeroWindow, 3*time.Second, false)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := bytes.Repeat([]byte("zero window test"), 1024) // 16 KiB
	for sent := 0; sent < zeroWindowBytes; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			return err
		}
	}
	a.log("9008: all written")
	if err := c.CloseWrite(); err != nil {
		return err
	}
	line, err := readLine(c)
	if err != nil {
		return err
	}
	a.log("9008: server says %q", strings.TrimSpace(line))
	return nil
}
