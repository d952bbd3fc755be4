package app

import (
	"strings"
	"testing"

	"putokaz/internal/testkit/contenttest"
)

func TestGraphCommand(t *testing.T) {
	dir := contenttest.Write(t, nil)
	code, out, errOut := run(t, "", "graph", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"flowchart TD\n", "subgraph F_main", "subgraph F_sos", "main__menu -->|\"Ask me\"| main__ask"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}

	code, out, errOut = run(t, "", "graph", "--dir", dir, "--lang", "fa", "sos")
	if code != 0 || !strings.Contains(out, "subgraph F_sos") || strings.Contains(out, "subgraph F_main") ||
		!strings.Contains(out, "کمک فوری") || !strings.Contains(out, "main__menu[[") {
		t.Errorf("one flow in Farsi: exit %d %s\n%s", code, errOut, out)
	}

	code, out, errOut = run(t, "", "graph", "--dir", dir, "nope")
	if code != 2 || out != "" || !strings.Contains(errOut, `there is no flow "nope"`) ||
		!strings.Contains(errOut, "\n  main\n  sos\n") {
		t.Errorf("unknown flow: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "", "graph", "--dir", dir, "--lang", "xx"); code != 2 || !strings.Contains(errOut, "unknown language") {
		t.Errorf("unknown language: exit %d %s", code, errOut)
	}
	if code, _, _ := run(t, "", "graph", "--dir", dir, "a", "b"); code != 2 {
		t.Errorf("two flows: exit %d", code)
	}
}

// The default content (what `putokaz graph` shows in a fresh clone) draws.
func TestGraphDefaultContent(t *testing.T) {
	code, out, errOut := run(t, "", "graph", "voluntary_return")
	if code != 0 || !strings.Contains(out, "voluntary_return__refer{{") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
}
