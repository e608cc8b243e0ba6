package report

import (
	"bufio"
	"bytes"
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

// Doc is one connection's record as compact JSON (AppendConn's bytes),
// with its id for sorting.
type Doc struct {
	ID   uint64
	JSON []byte
}

// WriteJSONDocs writes the records as WriteJSON does, byte for byte, from
// their compact JSON: one record at a time, indented on the way out,
// instead of encoding the whole array in memory (2.5 GB for the 163,000
// connections of a 2 M-packet capture).
func WriteJSONDocs(w io.Writer, docs []Doc) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	if len(docs) == 0 {
		bw.WriteString("[]\n")
		return bw.Flush()
	}
	bw.WriteString("[\n  ")
	var buf bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			bw.WriteString(",\n  ")
		}
		buf.Reset()
		if err := json.Indent(&buf, bytes.TrimRight(d.JSON, "\n"), "  ", "  "); err != nil {
			return err
		}
		bw.Write(buf.Bytes())
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}

// NDJSON writes one record per line as connections finish.
type NDJSON struct {
	w     io.Writer
	enc   *json.Encoder
	buf   []byte // reused by WriteConn
	heads Heads
}

// NewNDJSON returns an NDJSON writer on w.
func NewNDJSON(w io.Writer) *NDJSON { return &NDJSON{w: w, enc: json.NewEncoder(w)} }

// Write writes one record and a newline.
func (n *NDJSON) Write(r *Record) error { return n.enc.Encode(r) }
