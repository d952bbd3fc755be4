package app

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryCarriesNoTestHarness: the production binary (the default build
// of package putokaz) links no test helper: not the fake Bot API, not the
// load tool, not package testing or httptest. The load tool needs
// -tags loadtest (loadtest.go).
func TestBinaryCarriesNoTestHarness(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "putokaz").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps putokaz: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !strings.Contains(string(out), "putokaz/internal/app") {
		t.Fatalf("go list -deps putokaz listed %d packages, not the binary's:\n%s", len(deps), out)
	}
	for _, p := range deps {
		if harness(p) {
			t.Errorf("the production binary depends on %s", p)
		}
	}
}

// harness reports whether the import path p is test-only code: the standard
// library's testing packages, or one of ours whose name ends in "test" (the
// helpers, botapitest, loadtest) or that lives under internal/testkit.
func harness(p string) bool {
	switch p {
	case "testing", "net/http/httptest", "testing/synctest", "testing/fstest", "testing/iotest":
		return true
	}
	if !strings.HasPrefix(p, "putokaz/") {
		return false
	}
	last := p[strings.LastIndex(p, "/")+1:]
	return strings.HasSuffix(last, "test") || strings.Contains(p, "/testkit/")
}

func TestHarness(t *testing.T) {
	for p, want := range map[string]bool{
		"putokaz/internal/testkit/botapitest": true, "putokaz/internal/loadtest": true, "putokaz/internal/testkit/redistest": true,
		"putokaz/internal/testkit/loadtesttest": true, "putokaz/internal/testkit/golden": true,
		"testing": true, "net/http/httptest": true,
		"putokaz/bot": false, "putokaz/internal/app": false, "net/http": false, "internal/testlog": false,
	} {
		if got := harness(p); got != want {
			t.Errorf("harness(%q) = %v, want %v", p, got, want)
		}
	}
}
