// Package golden compares a test's output with a file checked in beside the
// test (a transcript, a diagram, a generated document) and, with the one
// shared -update flag, rewrites the file instead. Read every diff of an
// update before committing it.
package golden

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Update is the -update flag of every test binary that imports this package.
var Update = flag.Bool("update", false, "rewrite golden files from the current output (then read every line of the diff)")

// Check compares got with the file at path. With -update it writes got
// there instead. rerun is the command that regenerates the file, named in
// the failure.
func Check(t testing.TB, path, got, rerun string) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run %s, then read the new file)", err, rerun)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output; if the change is intended run %s and read the diff:\n%s",
			path, rerun, Diff(string(want), got))
	}
}

// maxShown is how many differing lines Diff shows.
const maxShown = 12

// Diff lists the lines where want and got differ, by line number, up to
// maxShown of them.
func Diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < maxShown; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  - %s\n  + %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
