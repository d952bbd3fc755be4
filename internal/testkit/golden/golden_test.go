package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	if d := Diff("a\nb\n", "a\nb\n"); d != "" {
		t.Errorf("equal texts: %q", d)
	}
	if d, want := Diff("a\nb\nc", "a\nB\nc\nd"), "line 2:\n  - b\n  + B\nline 4:\n  - \n  + d\n"; d != want {
		t.Errorf("Diff = %q, want %q", d, want)
	}
	if n := strings.Count(Diff(strings.Repeat("x\n", 50), strings.Repeat("y\n", 50)), "line "); n != maxShown {
		t.Errorf("%d lines shown, want %d", n, maxShown)
	}
}

// With -update Check writes the file (and its folder); without, the same
// output passes.
func TestCheckWritesThenMatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testdata", "x.golden")
	old := *Update
	t.Cleanup(func() { *Update = old })
	*Update = true
	Check(t, path, "hello\n", "go test -update")
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "hello\n" {
		t.Fatalf("after -update: %q, %v", b, err)
	}
	*Update = false
	Check(t, path, "hello\n", "go test -update")
}
