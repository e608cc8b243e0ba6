// Command demotraffic produces the TCP traffic recorded in testdata/demo.pcapng
// and testdata/anomalies/*.pcapng.
//
// It is not part of tcplens itself: testdata/record-demo.sh builds it into a
// temporary directory and runs it inside two network namespaces joined by a
// veth pair, "server" in one and "client" in the other, while tcpdump records
// the client's side of the link. See testdata/demo.md for the scenarios.
// testdata/record-anomalies.sh does the same with the anomaly-server and
// anomaly-client subcommands, one scenario and one capture at a time; see
// testdata/anomalies/README.md.
//
// Usage:
//
//	demotraffic server [-addr 10.213.0.2]
//	demotraffic client [-server 10.213.0.2] [-client 10.213.0.1] [-gap 250ms]
//	demotraffic anomaly-server -scenario NAME [-server ADDR] [-ctl DIR] [-limit 60s]
//	demotraffic anomaly-client -scenario NAME [-server ADDR] [-client ADDR] [-ctl DIR] [-limit 60s]
//
// The server prints "ready" once it listens on every scenario port. The
// client runs scenarios 1-4 in order, sets up scenario 5, prints "holding"
// and then keeps that connection open until it is killed; the server does the
// same on its side.
//
// anomaly-server prints "ready" once it listens and then runs until it is
// killed; anomaly-client runs its scenario and prints "done". Both print
// "wait STEP" and block until the file DIR/STEP exists where the recording
// script has to act at a precise moment.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// Scenario server ports. Port 8003 is deliberately never listened on.
const (
	portClientClose = 8001 // graceful close started by the client
	portServerClose = 8002 // graceful close started by the server
	portRefused     = 8003 // nothing listens: SYN answered by RST
	portAbort       = 8004 // client closes with SO_LINGER 0: RST
	portOpen        = 8005 // still established when the capture stops
)

// clientPort returns the fixed client source port of a scenario, so that the
// rows of the capture are the same on every recording: 8001 -> 40001, etc.
func clientPort(serverPort int) int { return serverPort - 8000 + 40000 }

func main() {
	log := func(format string, args ...any) {
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: demotraffic server|client|anomaly-server|anomaly-client|load-server|load [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		fs := flag.NewFlagSet("server", flag.ExitOnError)
		addr := fs.String("addr", "10.213.0.2", "address to listen on")
		_ = fs.Parse(os.Args[2:])
		err = runServer(*addr, log)
	case "client":
		fs := flag.NewFlagSet("client", flag.ExitOnError)
		server := fs.String("server", "10.213.0.2", "server address")
		client := fs.String("client", "10.213.0.1", "client source address")
		gap := fs.Duration("gap", 250*time.Millisecond, "pause between scenarios")
		_ = fs.Parse(os.Args[2:])
		err = runClient(*server, *client, *gap, log)
	case "load-server":
		err = runLoadServer(os.Args[2:], log)
	case "load":
		err = runLoad(os.Args[2:], log)
	case "anomaly-server":
		err = runAnomaly("server", os.Args[2:], log)
	case "anomaly-client":
		err = runAnomaly("client", os.Args[2:], log)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demotraffic:", err)
		os.Exit(1)
	}
}

type logFunc func(format string, args ...any)

// waitForSignal blocks until SIGINT or SIGTERM.
func waitForSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
}

// ---------------------------------------------------------------- server

func runServer(addr string, log logFunc) error {
	handlers := map[int]func(*net.TCPConn, logFunc){
		portClientClose: serveClientClose,
		portServerClose: serveServerClose,
		portAbort:       serveAbort,
		portOpen:        serveOpen,
	}
	for _, port := range []int{portClientClose, portServerClose, portAbort, portOpen} {
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.ParseIP(addr), Port: port})
		if err != nil {
			return err
		}
		go acceptLoop(ln, handlers[port], log)
	}
	log("ready")
	waitForSignal()
	return nil
}

func acceptLoop(ln *net.TCPListener, handle func(*net.TCPConn, logFunc), log logFunc) {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			log("accept %v: %v", ln.Addr(), err)
			return
		}
		log("%v: accepted %v", c.LocalAddr(), c.RemoteAddr())
		go handle(c, log)
	}
}

// serveClientClose answers one line, then waits for the client's FIN before
// closing: the client closes first.
func serveClientClose(c *net.TCPConn, log logFunc) {
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		log("8001: read: %v", err)
		return
	}
	if _, err := c.Write([]byte("hi\n")); err != nil {
		log("8001: write: %v", err)
		return
	}
	_, err := io.Copy(io.Discard, r)
	log("8001: client closed (err=%v), closing", err)
}

// serveServerClose answers one line and closes at once: the server closes
// first.
func serveServerClose(c *net.TCPConn, log logFunc) {
	defer c.Close()
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		log("8002: read: %v", err)
		return
	}
	if _, err := c.Write([]byte("bye\n")); err != nil {
		log("8002: write: %v", err)
		return
	}
	log("8002: replied, closing first")
}

// serveAbort answers one line, then reads until the client's RST.
func serveAbort(c *net.TCPConn, log logFunc) {
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		log("8004: read: %v", err)
		return
	}
	if _, err := c.Write([]byte("hi\n")); err != nil {
		log("8004: write: %v", err)
		return
	}
	_, err := io.Copy(io.Discard, r)
	log("8004: connection ended: %v", err)
}

// serveOpen answers one line and then keeps the connection open until the
// process is killed.
func serveOpen(c *net.TCPConn, log logFunc) {
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		log("8005: read: %v", err)
		return
	}
	if _, err := c.Write([]byte("pong\n")); err != nil {
		log("8005: write: %v", err)
		return
	}
	log("8005: replied, holding the connection open")
	_, err := io.Copy(io.Discard, r)
	log("8005: connection ended: %v", err)
}

// ---------------------------------------------------------------- client

func dial(server, client string, port int) (*net.TCPConn, error) {
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(client), Port: clientPort(port)},
		Timeout:   3 * time.Second,
	}
	c, err := d.Dial("tcp4", net.JoinHostPort(server, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// exchange sends one line and reads one line of reply.
func exchange(c *net.TCPConn, msg string) (string, error) {
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func runClient(server, client string, gap time.Duration, log logFunc) error {
	steps := []struct {
		port int
		run  func(server, client string, log logFunc) error
	}{
		{portClientClose, clientClose},
		{portServerClose, serverClose},
		{portRefused, refused},
		{portAbort, abort},
	}
	for _, s := range steps {
		if err := s.run(server, client, log); err != nil {
			return fmt.Errorf("scenario %d: %w", s.port, err)
		}
		time.Sleep(gap)
	}
	c, err := dial(server, client, portOpen)
	if err != nil {
		return fmt.Errorf("scenario 8005: %w", err)
	}
	defer c.Close()
	if _, err := exchange(c, "ping\n"); err != nil {
		return fmt.Errorf("scenario 8005: %w", err)
	}
	log("8005: exchanged, holding")
	// Let the last ACK go out before the script starts counting down.
	time.Sleep(gap)
	log("holding")
	waitForSignal()
	return nil
}

// clientClose: request, reply, then the client closes first (FIN) and ends
// in TIME_WAIT.
func clientClose(server, client string, log logFunc) error {
	c, err := dial(server, client, portClientClose)
	if err != nil {
		return err
	}
	if _, err := exchange(c, "hello\n"); err != nil {
		c.Close()
		return err
	}
	log("8001: exchanged, closing first")
	return c.Close()
}

// serverClose: request, reply; the server closes first, the client reads EOF
// and then closes.
func serverClose(server, client string, log logFunc) error {
	c, err := dial(server, client, portServerClose)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET\n")); err != nil {
		return err
	}
	reply, err := io.ReadAll(c) // until the server's FIN
	if err != nil {
		return err
	}
	log("8002: got %q and EOF, closing", reply)
	return nil
}

// refused: nothing listens on the port, the kernel answers the SYN with RST.
func refused(server, client string, log logFunc) error {
	c, err := dial(server, client, portRefused)
	if err == nil {
		c.Close()
		return errors.New("connection unexpectedly accepted")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	log("8003: refused as expected")
	return nil
}

// abort: request, reply, then close with SO_LINGER 0 so the kernel sends RST.
func abort(server, client string, log logFunc) error {
	c, err := dial(server, client, portAbort)
	if err != nil {
		return err
	}
	if _, err := exchange(c, "hello\n"); err != nil {
		c.Close()
		return err
	}
	if err := c.SetLinger(0); err != nil {
		c.Close()
		return err
	}
	log("8004: exchanged, aborting")
	return c.Close()
}
