package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// writePcap writes a pcap of n records of 60 bytes each, in the given byte
// order, and returns its path.
func writePcap(t *testing.T, dir string, n int, big bool) string {
	t.Helper()
	order := binary.ByteOrder(binary.LittleEndian)
	if big {
		order = binary.BigEndian
	}
	var b bytes.Buffer
	hdr := make([]byte, 24)
	order.PutUint32(hdr[0:], 0xa1b2c3d4)
	order.PutUint16(hdr[4:], 2)
	order.PutUint16(hdr[6:], 4)
	order.PutUint32(hdr[16:], 65535)
	order.PutUint32(hdr[20:], 1)
	b.Write(hdr)
	for i := range n {
		rec := make([]byte, 16+60)
		order.PutUint32(rec[0:], uint32(i))
		order.PutUint32(rec[8:], 60)
		order.PutUint32(rec[12:], 60)
		rec[16] = byte(i)
		b.Write(rec)
	}
	path := filepath.Join(dir, "src.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCutPcap(t *testing.T) {
	for _, big := range []bool{false, true} {
		dir := t.TempDir()
		src := writePcap(t, dir, 10, big)
		dst := filepath.Join(dir, "cut.pcap")
		f, err := cutPcap(src, dst, 4)
		if err != nil {
			t.Fatal(err)
		}
		if f.packets != 4 || f.bytes != 24+4*76 {
			t.Errorf("big-endian %v: cut %d packets, %d bytes; want 4, %d", big, f.packets, f.bytes, 24+4*76)
		}
		want, _ := os.ReadFile(src)
		got, _ := os.ReadFile(dst)
		if !bytes.Equal(got, want[:24+4*76]) {
			t.Errorf("big-endian %v: the cut is not the first 4 records", big)
		}
		// An existing cut is counted, not rewritten; n 0 counts the whole file.
		if f, err := cutPcap(src, dst, 4); err != nil || f.packets != 4 {
			t.Errorf("recount: %d packets, %v", f.packets, err)
		}
		if f, err := cutPcap(src, src, 0); err != nil || f.packets != 10 {
			t.Errorf("whole file: %d packets, %v", f.packets, err)
		}
	}
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "x")
	os.WriteFile(notPcap, bytes.Repeat([]byte("x"), 40), 0o644)
	if _, err := cutPcap(notPcap, filepath.Join(dir, "y"), 1); err == nil {
		t.Error("a file that is not a pcap was cut")
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 9970751: "9,970,751", 123456789012: "123,456,789,012"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}
