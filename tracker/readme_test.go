package tracker_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tcplens/tcplens/tracker"
)

// TestCatalogInREADME keeps the README's anomaly tables in step with the
// catalog: every id has its row, with the same severity and wording, in
// the right table, and the README lists no id the catalog lacks.
func TestCatalogInREADME(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	_, rest, ok := strings.Cut(readme, "### Lifecycle anomalies")
	if !ok {
		t.Fatal("README has no Lifecycle anomalies section")
	}
	lifecycle, dataPath, ok := strings.Cut(rest, "### Data-path anomalies")
	if !ok {
		t.Fatal("README has no Data-path anomalies section")
	}
	dataPath, _, _ = strings.Cut(dataPath, "\n## ")
	n := len(tracker.Catalog) - tracker.NumDataPathKinds
	rows := map[string]bool{}
	for i, k := range tracker.Catalog {
		row := fmt.Sprintf("| `%s` | %s | %s | %s | %s |", k.ID, k.Severity, k.Trigger, k.Meaning, k.Action)
		section, name := lifecycle, "lifecycle"
		if i >= n {
			section, name = dataPath, "data-path"
		}
		if !strings.Contains(section, row+"\n") {
			t.Errorf("the README's %s table lacks this row (or words it differently):\n%s", name, row)
		}
		rows[k.ID] = true
	}
	for _, line := range strings.Split(lifecycle+dataPath, "\n") {
		if id, ok := strings.CutPrefix(line, "| `"); ok {
			id, _, _ = strings.Cut(id, "`")
			if !rows[id] {
				t.Errorf("the README lists %q, which is not in the catalog", id)
			}
		}
	}
}
