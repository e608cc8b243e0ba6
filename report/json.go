package report

import (
	"encoding/json"
	"io"
)

// WriteJSON writes records as one indented JSON array.
func WriteJSON(w io.Writer, recs []Record) error {
	if recs == nil {
		recs = []Record{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(recs)
}

// NDJSON writes one record per line as connections finish.
type NDJSON struct {
	w   io.Writer
	enc *json.Encoder
	buf []byte // reused by WriteConn

	head     []byte // WritePrepared's record head
	headFile string // the file head is for
}

// NewNDJSON returns an NDJSON writer on w.
func NewNDJSON(w io.Writer) *NDJSON { return &NDJSON{w: w, enc: json.NewEncoder(w)} }

// Write writes one record and a newline.
func (n *NDJSON) Write(r *Record) error { return n.enc.Encode(r) }
