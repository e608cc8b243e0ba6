package report

import (
	"os"
	"slices"
)

// spillChunk is how much text a spillFile gathers before it writes it to
// the file in one call. A variable for the tests.
var spillChunk = 256 << 10

// spillFile keeps drawings that wait for their turn in a temporary file,
// removed from its directory as soon as it is made, gathered and written
// spillChunk bytes at a time. When no drawing waits in it any more it
// starts again from nothing, so that it holds what waits at once, not all
// there ever was.
type spillFile struct {
	f       *os.File // nil until the first drawing
	name    string   // the file's name, if it could not be removed at once
	failed  bool     // the file could not be made or written: it takes no more
	buf     []byte   // added, not written yet: the file's bytes from written on
	inBuf   int      // drawings in buf
	written int64    // bytes written to the file
	waiting int      // drawings added and not taken
	readBuf []byte   // what take reads back
}

// end is where the next drawing would go.
func (s *spillFile) end() int64 { return s.written + int64(len(s.buf)) }

// add keeps text and returns where it is; ok is false, and nothing kept,
// if the file could not be made or has failed.
func (s *spillFile) add(text []byte) (off int64, ok bool) {
	if s.failed {
		return 0, false
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "tcplens-ladder-*")
		if err != nil {
			s.failed = true
			return 0, false
		}
		s.f = f
		if os.Remove(f.Name()) != nil {
			s.name = f.Name() // removed by close
		}
	}
	off = s.end()
	s.buf = append(s.buf, text...)
	s.inBuf++
	s.waiting++
	return off, true
}

// full reports whether what was gathered should be written.
func (s *spillFile) full() bool { return len(s.buf) >= spillChunk }

// flush writes what was gathered. If that fails, the file takes no more,
// and flush returns what it could not write and where that starts, for
// the caller to keep elsewhere: those drawings no longer wait here.
func (s *spillFile) flush() (unwritten []byte, from int64) {
	if len(s.buf) == 0 {
		return nil, 0
	}
	if _, err := s.f.WriteAt(s.buf, s.written); err == nil {
		s.written += int64(len(s.buf))
		s.buf, s.inBuf = s.buf[:0], 0
		return nil, 0
	}
	s.failed = true
	unwritten, from = s.buf, s.written
	s.waiting -= s.inBuf
	s.buf, s.inBuf = nil, 0
	return unwritten, from
}

// take returns the n bytes of the drawing at off, valid until the next
// call, and counts it as taken.
func (s *spillFile) take(off, n int64) ([]byte, error) {
	s.waiting--
	defer s.restart()
	if off >= s.written { // not written yet
		at := off - s.written
		return s.buf[at : at+n], nil
	}
	// Read into a buffer of its own: io.Copy from the file to a
	// bufio.Writer would end in the output file's ReadFrom, which makes a
	// 32 KB buffer a call.
	if cap(s.readBuf) > 1<<20 { // one long connection's: not kept
		s.readBuf = nil
	}
	s.readBuf = slices.Grow(s.readBuf[:0], int(n))[:n]
	_, err := s.f.ReadAt(s.readBuf, off)
	return s.readBuf, err
}

// restart empties the file once nothing waits in it. What take returned
// stays valid: nothing is overwritten before the next add.
func (s *spillFile) restart() {
	if s.waiting == 0 && s.end() > 0 {
		s.buf, s.inBuf, s.written = s.buf[:0], 0, 0
		s.f.Truncate(0)
	}
}

// close closes the file and removes it if it is still in its directory.
func (s *spillFile) close() {
	if s.f == nil {
		return
	}
	s.f.Close()
	if s.name != "" {
		os.Remove(s.name)
	}
	s.f = nil
}
