// Package testcaptures lists the capture files that tests run over: the
// repository's own, in testdata/ and testdata/anomalies/, and the real ones
// that the project's checkouts share in ../shared/captures/ beside the
// module root. It finds the module root from the working directory, so a
// test in any package gets the same files without typing a relative path.
//
// Paths are relative to the working directory (the test's package
// directory), for example "../../testdata/demo.pcapng", because the CLI
// prints the path it is given and the stored outputs in
// cmd/tcplens/testdata/equivalence keep it. A list comes in a fixed order:
// testdata/, then testdata/anomalies/, then the shared captures, each group
// sorted by name.
//
// The shared captures may be missing from a machine. Under CI (CI set in
// the environment) they must be there, and every function that lists them
// fails the test when it finds none.
package testcaptures

import (
	"os"
	"path/filepath"
	"testing"
)

// pattern matches the names of pcap and pcapng files (and their .gz
// forms) and not the notes beside them (README.md, INDEX.md, *.ss.txt).
const pattern = "*.pcap*"

// Root returns the module root, the nearest directory at or above the
// working directory that holds go.mod, relative to the working directory.
func Root(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(wd, dir)
			if err != nil {
				tb.Fatal(err)
			}
			return rel
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("no go.mod at or above %s", wd)
		}
		dir = parent
	}
}

// SharedDir returns the directory of shared captures, ../shared/captures
// beside the module root, relative to the working directory. It need not
// exist.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(Root(tb), "..", "shared", "captures")
}

// Repo returns the captures in the repository: testdata/ and
// testdata/anomalies/. It fails the test if there are none.
func Repo(tb testing.TB) []string {
	tb.Helper()
	root := Root(tb)
	files := glob(tb, filepath.Join(root, "testdata"))
	files = append(files, glob(tb, filepath.Join(root, "testdata", "anomalies"))...)
	if len(files) == 0 {
		tb.Fatalf("no captures in %s", filepath.Join(root, "testdata"))
	}
	return files
}

// Shared returns the shared captures; none where SharedDir holds none,
// which fails the test under CI.
func Shared(tb testing.TB) []string {
	tb.Helper()
	dir := SharedDir(tb)
	files := glob(tb, dir)
	if len(files) == 0 && os.Getenv("CI") != "" {
		tb.Fatalf("no captures in %s, and CI is set", dir)
	}
	return files
}

// All returns Repo's captures followed by Shared's.
func All(tb testing.TB) []string {
	tb.Helper()
	return append(Repo(tb), Shared(tb)...)
}

// glob returns the captures in dir, sorted by name.
func glob(tb testing.TB, dir string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		tb.Fatal(err)
	}
	return files
}
