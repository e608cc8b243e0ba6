package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

const closeWait = "../../testdata/anomalies/close-wait.pcapng"

func TestReportDemoMarkdown(t *testing.T) {
	out, errOut, err := runCLI(t, nil, "report", demo)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	golden(t, "demo.report.md.golden", out)

	// What a reader looks for, whatever the golden file says: the
	// verdict, the warnings before the info, and the ladders of the two
	// connections with warnings exactly as tcplens ladder draws them.
	if !strings.Contains(out, "\nAnomalies in 3 of 5 connections: 2 warnings, 1 info") {
		t.Errorf("no verdict line:\n%s", out)
	}
	refused, abort, atEnd := strings.Index(out, "### `syn-refused` (warning)"), strings.Index(out, "### `rst-abort` (warning)"), strings.Index(out, "### `open-at-end` (info)")
	if refused < 0 || abort < refused || atEnd < abort {
		t.Errorf("anomaly sections missing or out of order (%d %d %d):\n%s", refused, abort, atEnd, out)
	}
	ladder, _, err := runCLI(t, nil, "ladder", "--conn", "3,4", demo)
	if err != nil {
		t.Fatal(err)
	}
	drawings := ladder[:strings.Index(ladder, demo+": ")] // without the footer
	var got strings.Builder
	for _, part := range strings.Split(out, "```text\n")[2:] { // the first block is the footer
		got.WriteString(part[:strings.Index(part, "```")] + "\n")
	}
	if got.String() != drawings {
		t.Errorf("the report's ladders are not tcplens ladder --conn 3,4's:\n%s\nwant:\n%s", got.String(), drawings)
	}
	if !strings.Contains(out, "as `tcplens ladder --conn 3,4 "+demo+"` draws them") {
		t.Errorf("the report does not say how to draw its ladders:\n%s", out)
	}
}

// htmlTexts parses page and returns the text of each element with tag
// name, and whether any element is a script.
func htmlTexts(t *testing.T, page, name string) (texts []string, script bool) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var text func(*html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" {
				script = true
			}
			if n.Data == name {
				texts = append(texts, text(n))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return texts, script
}

func TestReportHTML(t *testing.T) {
	// A file name is the one string of a report that its user did not get
	// from tcplens: it must come out as text, never as markup.
	name := captureCopy(t, closeWait, "<script>alert(1).pcapng", whole)
	out, errOut, err := runCLI(t, nil, "report", "--format", "html", name)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	h1, script := htmlTexts(t, out, "h1")
	if script {
		t.Errorf("the file name became a script element:\n%s", out)
	}
	if len(h1) != 1 || h1[0] != "tcplens report: "+name {
		t.Errorf("h1 %q, want the file name as text", h1)
	}
	codes, _ := htmlTexts(t, out, "code")
	if len(codes) == 0 || codes[0] != "close-wait-stuck" {
		t.Errorf("first anomaly %q, want close-wait-stuck (the error) first", codes)
	}
	svgs, _ := htmlTexts(t, out, "svg")
	if len(svgs) != 1 || !strings.Contains(svgs[0], "! close-wait-stuck (error, server)") || !strings.Contains(svgs[0], "CLOSE_WAIT") {
		t.Errorf("want one SVG ladder showing CLOSE_WAIT and close-wait-stuck, got %q", svgs)
	}
	pres, _ := htmlTexts(t, out, "pre")
	if len(pres) != 2 || !strings.HasPrefix(pres[1], "connection ") || !strings.Contains(pres[1], "close-wait-stuck") {
		t.Errorf("want the footer and one ladder showing close-wait-stuck, got %d blocks:\n%q", len(pres), pres)
	}
}

func TestReportFailOn(t *testing.T) {
	out, _, err := runCLI(t, nil, "report", "--fail-on", "error", closeWait)
	if !errors.Is(err, errAnomalies) {
		t.Errorf("--fail-on error on a capture with close-wait-stuck: %v, want exit status 3", err)
	}
	if !strings.Contains(out, "close-wait-stuck") {
		t.Errorf("the report was not written:\n%s", out)
	}
	out, _, err = runCLI(t, nil, "report", "--fail-on", "error", "--ignore", "close-wait-stuck", closeWait)
	if err != nil {
		t.Errorf("--ignore close-wait-stuck: %v, want exit status 0", err)
	}
	if strings.Contains(out, "close-wait-stuck") {
		t.Errorf("an ignored id is in the report:\n%s", out)
	}
}

func TestReportFromStdin(t *testing.T) {
	data, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, nil, "report", "--ladders", "0", demo)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "## Ladders") {
		t.Errorf("--ladders 0 drew ladders:\n%s", out)
	}
	stdin, _, err := runCLI(t, data, "report", "-")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdin, "No ladder: they take a second pass over the capture, and - is not a regular file") {
		t.Errorf("a report from standard input does not say why it has no ladder:\n%s", stdin)
	}
	// Its anomalies are the file's.
	section := func(r string) string {
		r = r[strings.Index(r, "## Anomalies"):]
		if i := strings.Index(r, "## Ladders"); i >= 0 {
			r = r[:i]
		}
		return strings.TrimSpace(r)
	}
	if got, want := section(stdin), section(out); got != want {
		t.Errorf("standard input's anomalies differ from the file's:\n%s\nwant:\n%s", got, want)
	}
}

// ladder --format html draws what the text ladder draws: each connection
// a section with its SVG and, under it, the text drawing itself; the
// footer last.
func TestLadderHTML(t *testing.T) {
	page, errOut, err := runCLI(t, nil, "ladder", "--format", "html", closeWait, demo)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var text strings.Builder
	for i, file := range []string{closeWait, demo} {
		out, _, err := runCLI(t, nil, "ladder", file)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			text.WriteString("\n")
		}
		text.WriteString("== " + file + "\n\n" + out)
	}
	h1, script := htmlTexts(t, page, "h1")
	if script || !cmp.Equal(h1, []string{closeWait, demo}) {
		t.Errorf("h1 %q, want the two files", h1)
	}
	svgs, _ := htmlTexts(t, page, "svg")
	sections, _ := htmlTexts(t, page, "section")
	if len(svgs) != 7 || len(sections) != 7 {
		t.Errorf("%d SVG images in %d sections, want 7 (2 connections, then 5)", len(svgs), len(sections))
	}
	// The page's pre elements, in order, are the text ladder's drawings
	// and footers: only the lines naming the files and the blank lines
	// between drawings are the text's own.
	pres, _ := htmlTexts(t, page, "pre")
	var got strings.Builder
	for i, file := range []string{closeWait, demo} {
		if i > 0 {
			got.WriteString("\n")
		}
		got.WriteString("== " + file + "\n\n")
		for len(pres) > 0 {
			p := pres[0]
			pres = pres[1:]
			if strings.HasPrefix(p, "connection ") {
				got.WriteString(p + "\n")
				continue
			}
			got.WriteString(p) // the footer ends the file
			break
		}
	}
	if diff := cmp.Diff(text.String(), got.String()); diff != "" {
		t.Errorf("the page's drawings are not the text ladder's (-text +html):\n%s", diff)
	}
}

// A file that cannot be read to its end still gets the report of what
// came before, which says so; the exit status is 1, and the error is told
// once.
func TestReportTruncated(t *testing.T) {
	name := captureCopy(t, closeWait, "cut.pcapng", func(b []byte) []byte { return b[:len(b)-10] })
	out, errOut, err := runCLI(t, nil, "report", name)
	if !errors.Is(err, errReported) {
		t.Errorf("exit: %v, want status 1", err)
	}
	if strings.Count(errOut, "truncated") != 1 {
		t.Errorf("stderr should tell the truncation once:\n%s", errOut)
	}
	// (The file name is escaped in Markdown: the temporary directory's
	// name may hold an underscore.)
	if !strings.Contains(out, "**The file could not be read to its end; this is the report of what came before:** ") || !strings.Contains(out, "cut.pcapng: frame 42 at byte offset") {
		t.Errorf("the report does not say the file was cut:\n%s", out)
	}
	if !strings.Contains(out, "### `close-wait-stuck` (error)") || !strings.Contains(out, "### Connection 1") {
		t.Errorf("the report lacks what came before the cut:\n%s", out)
	}
}
