package report

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tcplens/tcplens/tracker"
)

// Incident gathers what an incident report says of one capture file: its
// footer (packets, connections by outcome, what was not tracked), its
// anomalies grouped by id, and the ladders of the connections that show
// the most severe ones. Of the anomalies it counts every one but keeps
// the rows of the first Keep connections of each id only: what a report
// shows, in memory that does not grow with the capture.
type Incident struct {
	File    string
	Summary Summary
	Last    time.Time // the last packet of any connection
	// Keep is how many rows of each anomaly id are kept, those of the
	// connections with the lowest ids; 0 keeps all.
	Keep int
	// Ignore, when set, leaves out the anomalies whose id it accepts.
	Ignore   func(id string) bool
	Ladders  []LadderDrawing
	NoLadder string // why no ladder could be drawn, when one was wanted
	// Err is why the file could not be read to its end, if it could not:
	// the report is of what came before.
	Err string

	outcomes   outcomeCounts
	rows       []AnomalyRow // the kept rows, and those added since the last compact
	counts     map[string]*idCount
	bySeverity [3]int // anomaly ids of each severity, once per connection
	withAny    int    // connections with an anomaly not ignored
	scratch    []AnomalyRow
	seen       map[string]tracker.Severity // Add's: the ids of one connection
}

// idCount is what is counted of an anomaly id.
type idCount struct {
	connections, times int
	severity           tracker.Severity // the most severe
}

// IncidentGroup is an anomaly id's rows in a report.
type IncidentGroup struct {
	tracker.Kind
	Severity    string // the most severe of its rows
	Connections int    // connections that showed it
	Times       int    // the rows' counts added up
	// Rows are those of its first connections that were kept, in
	// connection order (one per side that showed it).
	Rows []AnomalyRow
}

// Add takes what the report needs of a finished connection.
func (in *Incident) Add(c *tracker.Conn) {
	in.outcomes.add(c.Outcome().ID)
	if c.Last.After(in.Last) {
		in.Last = c.Last
	}
	in.scratch = AppendAnomalyRows(in.scratch[:0], in.File, c)
	in.addConn(in.scratch)
	clear(in.scratch)
}

// addConn counts rows, the anomalies of one connection, each id once,
// and keeps them until the next compaction.
func (in *Incident) addConn(rows []AnomalyRow) {
	if in.counts == nil {
		in.counts, in.seen = map[string]*idCount{}, map[string]tracker.Severity{}
	}
	clear(in.seen)
	for _, r := range rows {
		if in.Ignore != nil && in.Ignore(r.ID) {
			continue
		}
		n := in.counts[r.ID]
		if n == nil {
			n = &idCount{}
			in.counts[r.ID] = n
		}
		sev, _ := tracker.ParseSeverity(r.Severity)
		n.times += r.Count
		n.severity = max(n.severity, sev)
		if prev, ok := in.seen[r.ID]; !ok || sev > prev {
			in.seen[r.ID] = sev
		}
		in.rows = append(in.rows, r)
	}
	for id, sev := range in.seen {
		in.counts[id].connections++
		in.bySeverity[sev]++
	}
	if len(in.seen) > 0 {
		in.withAny++
	}
	// Keep beyond a million shows more than anyone reads: all is kept.
	if in.Keep > 0 && in.Keep <= 1<<20 && len(in.rows) > 4*in.Keep*len(in.counts)+4096 {
		in.rows = slices.Clone(in.kept())
	}
}

// kept sorts the rows by id and connection and returns those of the first
// Keep connections of each id.
func (in *Incident) kept() []AnomalyRow {
	SortAnomalyRows(in.rows)
	if in.Keep <= 0 {
		return in.rows
	}
	out := in.rows[:0]
	for _, g := range groupByID(in.rows) {
		out = append(out, firstConns(g, in.Keep)...)
	}
	return out
}

// groupByID cuts rows, sorted by id, into the rows of each id.
func groupByID(rows []AnomalyRow) [][]AnomalyRow {
	var out [][]AnomalyRow
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].ID == rows[i].ID {
			j++
		}
		out = append(out, rows[i:j])
		i = j
	}
	return out
}

// firstConns returns the rows, in connection order, of the first n
// connections in rows.
func firstConns(rows []AnomalyRow, n int) []AnomalyRow {
	conns := 0
	for i := range rows {
		if i == 0 || rows[i].Conn != rows[i-1].Conn {
			if conns++; conns > n {
				return rows[:i]
			}
		}
	}
	return rows
}

// countConns returns how many connections rows, in connection order, are
// of.
func countConns(rows []AnomalyRow) int {
	n := 0
	for i := range rows {
		if i == 0 || rows[i].Conn != rows[i-1].Conn {
			n++
		}
	}
	return n
}

// Worst returns the most severe anomaly's severity, and false if there
// was none.
func (in *Incident) Worst() (tracker.Severity, bool) {
	for _, s := range mostSevereFirst {
		if in.bySeverity[s] > 0 {
			return s, true
		}
	}
	return 0, false
}

var mostSevereFirst = [...]tracker.Severity{tracker.Error, tracker.Warning, tracker.Info}

// Groups returns the anomalies by id, the most severe ids first (in
// catalog order among equals), each with its kept rows in connection
// order.
func (in *Incident) Groups() []IncidentGroup {
	in.rows = in.kept()
	var groups []IncidentGroup
	for _, rows := range groupByID(in.rows) {
		k, _ := tracker.KindOf(rows[0].ID)
		n := in.counts[k.ID]
		groups = append(groups, IncidentGroup{Kind: k, Severity: n.severity.String(), Connections: n.connections, Times: n.times, Rows: rows})
	}
	slices.SortStableFunc(groups, func(a, b IncidentGroup) int {
		sa, _ := tracker.ParseSeverity(a.Severity)
		sb, _ := tracker.ParseSeverity(b.Severity)
		return cmp.Compare(sb, sa)
	})
	return groups
}

// LadderConns picks up to n connections to draw: those with an anomaly of
// severity warning or error, one for each such id before a second for
// any (a connection chosen for one id counts for every id it shows), the
// most severe ids first, in connection order within an id.
func (in *Incident) LadderConns(n int) []uint64 {
	var lists [][]uint64           // each id's connections
	var ids []string               // lists' ids
	shows := map[uint64][]string{} // each connection's ids
	for _, g := range in.Groups() {
		if sev, _ := tracker.ParseSeverity(g.Severity); sev < tracker.Warning {
			break
		}
		var conns []uint64
		for i, r := range g.Rows {
			if sev, _ := tracker.ParseSeverity(r.Severity); sev < tracker.Warning {
				continue
			}
			if i == 0 || r.Conn != g.Rows[i-1].Conn {
				conns = append(conns, r.Conn)
				shows[r.Conn] = append(shows[r.Conn], g.ID)
			}
		}
		lists, ids = append(lists, conns), append(ids, g.ID)
	}
	chosen, covered := map[uint64]bool{}, map[string]bool{}
	var out []uint64
	choose := func(conn uint64) {
		chosen[conn] = true
		out = append(out, conn)
		for _, id := range shows[conn] {
			covered[id] = true
		}
	}
	// First one connection for each id no chosen connection shows, then
	// the next connections of each id in turn.
	for i, conns := range lists {
		for _, c := range conns {
			if covered[ids[i]] || len(out) == n {
				break
			}
			if !chosen[c] {
				choose(c)
			}
		}
	}
	for round := 0; len(out) < n; round++ {
		more := false
		for _, conns := range lists {
			if round < len(conns) {
				more = true
				if c := conns[round]; !chosen[c] && len(out) < n {
					choose(c)
				}
			}
		}
		if !more {
			break
		}
	}
	slices.Sort(out)
	return out
}

// Footer is read's footer of the file: packets, connections by outcome,
// packets not tracked.
func (in *Incident) Footer() string {
	var b strings.Builder
	writeFooter(&b, &in.outcomes, in.Summary)
	return b.String()
}

// Verdict sums the anomalies up in a line: how many of each severity.
func (in *Incident) Verdict() string {
	n := in.bySeverity
	var parts []string
	for _, s := range mostSevereFirst {
		switch {
		case n[s] == 0:
		case s == tracker.Info: // "2 info", not "2 infos"
			parts = append(parts, fmt.Sprintf("%d info", n[s]))
		default:
			parts = append(parts, Plural(int64(n[s]), s.String()))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("No anomalies in %s.", Plural(int64(in.outcomes.n), "connection"))
	}
	return fmt.Sprintf("Anomalies in %d of %s: %s (each id counted once per connection).", in.withAny, Plural(int64(in.outcomes.n), "connection"), strings.Join(parts, ", "))
}

// facts are the report's first table.
func (in *Incident) facts() [][2]string {
	st := &in.Summary.Stats
	f := [][2]string{{"capture", in.File}}
	if !in.Summary.First.IsZero() {
		f = append(f, [2]string{"first TCP segment", in.Summary.First.UTC().Format("2006-01-02 15:04:05.000000 UTC")})
		if !in.Last.IsZero() {
			f = append(f, [2]string{"last packet of a connection", in.Last.UTC().Format("2006-01-02 15:04:05.000000 UTC")},
				[2]string{"span", fmt.Sprintf("%.6f s", in.Last.Sub(in.Summary.First).Seconds())})
		}
	}
	return append(f, [2]string{"packets", fmt.Sprintf("%d (%d TCP)", st.Packets, st.TCP())},
		[2]string{"connections", fmt.Sprint(in.outcomes.n)})
}

// IncidentOptions are what a report shows beyond its file's facts.
type IncidentOptions struct {
	Examples int // connections shown per anomaly id; the rest are counted
}

// WriteIncidentMarkdown writes the reports of files as Markdown.
func WriteIncidentMarkdown(w io.Writer, files []*Incident, o IncidentOptions) error {
	var b bytes.Buffer
	for i, in := range files {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "# tcplens report: %s\n\n%s\n\n", mdText(in.File), in.Verdict())
		if in.Err != "" {
			fmt.Fprintf(&b, "**The file could not be read to its end; this is the report of what came before:** %s\n\n", mdText(in.Err))
		}
		b.WriteString("| | |\n|---|---|\n")
		for _, f := range in.facts() {
			fmt.Fprintf(&b, "| %s | %s |\n", f[0], mdCell(f[1]))
		}
		fmt.Fprintf(&b, "\n%s", mdBlock(in.Footer()))
		groups := in.Groups()
		if len(groups) > 0 {
			b.WriteString("\n## Anomalies\n\n| anomaly | severity | connections | times | what it usually means | what to do |\n|---|---|--:|--:|---|---|\n")
			for _, g := range groups {
				fmt.Fprintf(&b, "| `%s` | %s | %d | %d | %s | %s |\n", g.ID, g.Severity, g.Connections, g.Times, mdCell(g.Meaning), mdCell(g.Action))
			}
			for _, g := range groups {
				fmt.Fprintf(&b, "\n### `%s` (%s)\n\n%s.\n\n| # | client | server | side | frame | what happened |\n|--:|---|---|---|--:|---|\n", g.ID, g.Severity, mdText(upperFirst(g.Trigger)))
				shown := firstConns(g.Rows, o.Examples)
				for _, r := range shown {
					fmt.Fprintf(&b, "| %d | %s | %s | %s | %d | %s |\n", r.Conn, mdCell(r.Client), mdCell(r.Server), r.Side, r.Frame, mdCell(r.Text))
				}
				if n := g.Connections - countConns(shown); n > 0 {
					fmt.Fprintf(&b, "\nNot shown: %s; %s lists them all.\n", Plural(int64(n), "connection"), mdCode("tcplens anomalies "+in.File))
				}
			}
		}
		if len(in.Ladders) > 0 || in.NoLadder != "" {
			b.WriteString("\n## Ladders\n\n")
			if in.NoLadder != "" {
				fmt.Fprintf(&b, "%s\n", mdText(in.NoLadder))
			} else {
				fmt.Fprintf(&b, "The connections with the most severe anomalies, one for each id first, drawn packet by packet as %s draws them.\n", mdCode("tcplens ladder --conn "+ladderList(in.Ladders)+" "+in.File))
			}
			for _, l := range in.Ladders {
				fmt.Fprintf(&b, "\n### Connection %d\n\n%s", l.Conn, mdBlock(l.Text))
			}
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func ladderList(ls []LadderDrawing) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = fmt.Sprint(l.Conn)
	}
	return strings.Join(s, ",")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// mdBlock is text, which ends in a newline, in a fenced code block whose
// fence is longer than any run of backticks in it (a file name may have
// some).
func mdBlock(text string) string {
	f := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	return f + "text\n" + text + f + "\n"
}

// mdCode is s as a code span, delimited by more backticks than any run
// of them in s (a file name may have some); line ends, which would end
// the paragraph, become spaces.
func mdCode(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c rune) int {
	longest, run := 0, 0
	for _, r := range s {
		if r != c {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return longest
}

// mdCell escapes what would end a Markdown table cell or start markup.
func mdCell(s string) string {
	return strings.ReplaceAll(mdText(s), "|", `\|`)
}

// mdText escapes Markdown's inline markup and HTML in s, which may come
// from a file name or a packet.
func mdText(s string) string { return mdEscaper.Replace(s) }

var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "&", "&amp;", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "\r", " ", "\n", " ")

// trustedSVG marks a drawing made by svg, which escapes every text it
// draws, as safe to put in the page as it is.
func trustedSVG(s string) template.HTML { return template.HTML(s) } //nolint:gosec // escaped by svg

// WriteIncidentHTML writes the reports of files as one self-contained HTML
// page (no script, no external resource). html/template escapes every
// string, those from packets and file names among them.
func WriteIncidentHTML(w io.Writer, files []*Incident, o IncidentOptions) error {
	type file struct {
		*Incident
		Facts  [][2]string
		Groups []IncidentGroup
		Shown  func(IncidentGroup) []AnomalyRow
		More   func(IncidentGroup) string
		List   string
	}
	var data struct {
		Title string
		Files []file
	}
	var names []string
	for _, in := range files {
		names = append(names, in.File)
		data.Files = append(data.Files, file{
			Incident: in, Facts: in.facts(), Groups: in.Groups(),
			Shown: func(g IncidentGroup) []AnomalyRow { return firstConns(g.Rows, o.Examples) },
			More: func(g IncidentGroup) string {
				if n := g.Connections - countConns(firstConns(g.Rows, o.Examples)); n > 0 {
					return Plural(int64(n), "connection")
				}
				return ""
			},
			List: ladderList(in.Ladders),
		})
	}
	data.Title = "tcplens report: " + strings.Join(names, ", ")
	return incidentHTML.Execute(w, data)
}

var incidentHTML = template.Must(template.New("report").Funcs(template.FuncMap{"upper": upperFirst, "svg": trustedSVG, "head": htmlHead, "tail": htmlTail}).Parse(`{{head .Title}}{{range .Files}}<section>
<h1>tcplens report: {{.File}}</h1>
<p>{{.Verdict}}</p>
{{with .Err}}<p class="error">The file could not be read to its end; this is the report of what came before: {{.}}</p>
{{end}}<table>
{{range .Facts}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>
<pre>{{.Footer}}</pre>
{{if .Groups}}<h2>Anomalies</h2>
<table>
<tr><th>anomaly</th><th>severity</th><th>connections</th><th>times</th><th>what it usually means</th><th>what to do</th></tr>
{{range .Groups}}<tr><td><code>{{.ID}}</code></td><td class="{{.Severity}}">{{.Severity}}</td><td class="n">{{.Connections}}</td><td class="n">{{.Times}}</td><td>{{.Meaning}}</td><td>{{.Action}}</td></tr>
{{end}}</table>
{{$f := .}}{{range .Groups}}<h3><code>{{.ID}}</code> (<span class="{{.Severity}}">{{.Severity}}</span>)</h3>
<p>{{upper .Trigger}}.</p>
<table>
<tr><th>#</th><th>client</th><th>server</th><th>side</th><th>frame</th><th>what happened</th></tr>
{{range call $f.Shown .}}<tr><td class="n">{{.Conn}}</td><td>{{.Client}}</td><td>{{.Server}}</td><td>{{.Side}}</td><td class="n">{{.Frame}}</td><td>{{.Text}}</td></tr>
{{end}}</table>
{{with call $f.More .}}<p>Not shown: {{.}}; <code>tcplens anomalies {{$f.File}}</code> lists them all.</p>
{{end}}{{end}}{{end}}{{if or .Ladders .NoLadder}}<h2>Ladders</h2>
{{if .NoLadder}}<p>{{.NoLadder}}</p>
{{else}}<p>The connections with the most severe anomalies, one for each id first, drawn packet by packet as <code>tcplens ladder --conn {{.List}} {{.File}}</code> draws them.</p>
{{end}}{{range .Ladders}}<h3>Connection {{.Conn}}</h3>
<div class="svg">{{svg .SVG}}</div>
<details><summary>as text</summary>
<pre>{{.Text}}</pre>
</details>
{{end}}{{end}}</section>
{{end}}{{tail}}`))

// htmlHead and htmlTail are HTMLHead and HTMLTail for the template: they
// escape what they were given themselves.
func htmlHead(title string) template.HTML { return template.HTML(HTMLHead(title)) } //nolint:gosec // HTMLHead escapes
func htmlTail() template.HTML             { return HTMLTail }
