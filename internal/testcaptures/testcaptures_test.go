package testcaptures

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// From a package directory the paths lead up to the module root, as the
// tests typed them before.
func TestRepoFromPackageDirectory(t *testing.T) {
	if root := Root(t); root != filepath.Join("..", "..") {
		t.Fatalf("Root = %q, want ../..", root)
	}
	files := Repo(t)
	if files[0] != "../../testdata/demo.pcapng" || !slices.Contains(files, "../../testdata/anomalies/loss.pcapng") {
		t.Errorf("Repo = %q", files)
	}
}

// failures records what a test would have failed with.
type failures struct {
	testing.TB
	msgs []string
}

func (f *failures) Fatal(args ...any) { f.msgs = append(f.msgs, fmt.Sprint(args...)) }
func (f *failures) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// Missing shared captures fail under CI only; present ones come sorted,
// without the notes beside them.
func TestSharedUnderCI(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "mod")
	if err := os.MkdirAll(filepath.Join(mod, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(mod, "pkg"))
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		f := &failures{TB: t}
		if files := Shared(f); len(files) != 0 || (len(f.msgs) != 0) != (ci != "") {
			t.Errorf("CI=%q, no shared directory: %q, failures %q", ci, files, f.msgs)
		}
	}
	shared := filepath.Join(dir, "shared", "captures")
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"INDEX.md", "b.pcapng", "a.pcap", "c.pcap.gz"} {
		if err := os.WriteFile(filepath.Join(shared, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := &failures{TB: t}
	want := []string{"../../shared/captures/a.pcap", "../../shared/captures/b.pcapng", "../../shared/captures/c.pcap.gz"}
	if diff := cmp.Diff(want, Shared(f)); diff != "" || len(f.msgs) != 0 {
		t.Errorf("Shared (-want +got):\n%s\nfailures %q", diff, f.msgs)
	}
}
