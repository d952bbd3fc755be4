//go:build !loadtest

package app

import (
	"bytes"
	"strings"
	"testing"
)

// TestLoadtestNotInThisBuild: the default build answers `putokaz loadtest`
// with how to get the load tool, and exit status 2.
func TestLoadtestNotInThisBuild(t *testing.T) {
	var stdout, stderr bytes.Buffer
	env := Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	if code := Main(t.Context(), []string{"loadtest", "--users", "5"}, env); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "go run -tags loadtest . loadtest") {
		t.Errorf("message %q: want one line naming go run -tags loadtest . loadtest", msg)
	}
}
