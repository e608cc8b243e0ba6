package reassembly_test

import (
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/tcplens/tcplens/capture"
	"github.com/tcplens/tcplens/reassembly"
)

func TestZZExplore(t *testing.T) {
	file := os.Getenv("F")
	if file == "" {
		t.Skip()
	}
	r, err := capture.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	as := map[capture.Key]*reassembly.Analyzer{}
	var s capture.Segment
	for {
		if err := r.Next(&s); err != nil {
			if err != io.EOF {
				fmt.Println("ERR", err)
			}
			break
		}
		k, hi := capture.KeyOf(&s)
		a := as[k]
		if a == nil {
			a = new(reassembly.Analyzer)
			as[k] = a
		}
		d := 0
		if hi {
			d = 1
		}
		f := a.Classify(&s, d)
		fmt.Printf("%d %s %v->%v %v seq=%d ack=%d len=%d win=%d ws=%d %v\n", s.Frame, s.Time.Format("05.000000"), s.Src, s.Dst, s.Flags, s.Seq, s.Ack, s.PayloadLen, s.Window, s.WindowScale, f)
	}
	fmt.Printf("stats %+v\n", r.Stats)
}
