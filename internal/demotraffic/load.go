package main

import (
	"flag"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// runLoadServer answers every connection with one line and closes first,
// so that TIME_WAIT is on the server and client ports can be reused.
func runLoadServer(args []string, log logFunc) error {
	fs := flag.NewFlagSet("load-server", flag.ExitOnError)
	addr := fs.String("addr", "10.217.0.2:7100", "address to listen on")
	_ = fs.Parse(args)
	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		return err
	}
	log("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			_, _ = io.WriteString(c, "ok\n")
			c.Close()
		}()
	}
}

// runLoad opens and closes connections as fast as workers goroutines can
// for a while and prints how many it made.
func runLoad(args []string, log logFunc) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	server := fs.String("server", "10.217.0.2:7100", "server address")
	workers := fs.Int("workers", 64, "connections in flight")
	duration := fs.Duration("duration", time.Minute, "how long")
	_ = fs.Parse(args)
	var made, failed atomic.Int64
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 16)
			for time.Now().Before(deadline) {
				c, err := net.DialTimeout("tcp4", *server, 2*time.Second)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.ReadAtLeast(c, buf, 3)
				c.Close()
				made.Add(1)
			}
		}()
	}
	wg.Wait()
	log("made %d connections (%.0f/s), %d failed", made.Load(), float64(made.Load())/duration.Seconds(), failed.Load())
	return nil
}
