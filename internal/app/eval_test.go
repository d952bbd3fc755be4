package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalPrintsRatesAndConfusions(t *testing.T) {
	dir := t.TempDir()
	set := `lang: en
cases:
  - {text: "i need a bed for tonight", want: [shelter], kind: plain}
  - {text: "police", want: [emergency], kind: emergency}
  - {text: "xyzzy", want: [asylum], kind: plain}
`
	if err := os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(set), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "", "eval", "--sets", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"t.yaml (en): 2 of 3 hit (66.7 %)", "by language:", "en                    3 cases", `t.yaml:5: [en plain] "xyzzy" → nothing (want asylum)`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if code, _, errOut := run(t, "", "eval", "--sets", t.TempDir()); code != 1 || !strings.Contains(errOut, "no evaluation sets") {
		t.Errorf("empty folder: exit %d, %s", code, errOut)
	}
}
