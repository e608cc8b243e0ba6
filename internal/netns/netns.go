// Package netns gives tests network namespaces joined by veth pairs, so
// that real kernel TCP can run between "hosts" on one machine. Everything it
// creates is removed when the test ends, also when it fails. It needs root
// (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2.
package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Usable reports why namespaces cannot be made here, or "" if they can.
func Usable() string {
	if os.Geteuid() != 0 {
		return "needs root for network namespaces (run the tests as root, as CI does)"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "needs the ip command (Debian: apt-get install iproute2)"
	}
	return ""
}

// NS is one network namespace.
type NS struct {
	Name string
	t    testing.TB
}

// Suffix returns a short random suffix for names that must not collide
// with those of another test run.
func Suffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// New creates namespace name with its loopback up and IPv6 off (so that
// only the test's traffic is on its links), removed at the end of the test.
func New(t testing.TB, name string) *NS {
	t.Helper()
	ns := &NS{Name: name, t: t}
	_ = exec.Command("ip", "netns", "del", name).Run() // a leftover
	ns.run("ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ns.Run("ip", "link", "set", "lo", "up")
	ns.Run("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
	ns.Run("sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
	return ns
}

func (ns *NS) run(name string, args ...string) string {
	ns.t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		ns.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Run runs a command in the namespace and returns its output, failing the
// test if it fails.
func (ns *NS) Run(name string, args ...string) string {
	ns.t.Helper()
	return ns.run("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Command returns a command that runs in the namespace.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Link joins a and b with a veth pair named ifA (in a, address addrA, a
// CIDR) and ifB (in b, addrB), both up, with segmentation offloads off so
// that captures see the segments TCP sent.
func Link(t testing.TB, a *NS, ifA, addrA string, b *NS, ifB, addrB string) {
	t.Helper()
	a.run("ip", "link", "add", ifA, "netns", a.Name, "type", "veth", "peer", "name", ifB, "netns", b.Name)
	for _, side := range []struct {
		ns        *NS
		ifc, addr string
	}{{a, ifA, addrA}, {b, ifB, addrB}} {
		side.ns.Run("ip", "addr", "add", side.addr, "dev", side.ifc)
		if _, err := exec.LookPath("ethtool"); err == nil {
			_ = side.ns.Command("ethtool", "-K", side.ifc, "tso", "off", "gso", "off", "gro", "off").Run()
		}
		side.ns.Run("ip", "link", "set", side.ifc, "up")
	}
}

// Do runs fn on a thread of its own inside the namespace: sockets fn
// creates belong to the namespace for their whole life, whichever
// goroutine uses them later. The thread is thrown away afterwards, so no
// other goroutine ever runs in the namespace by accident.
func (ns *NS) Do(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		target, err := os.Open("/run/netns/" + ns.Name)
		if err != nil {
			done <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns %s: %w", ns.Name, err)
			return
		}
		done <- fn()
	}()
	return <-done
}
