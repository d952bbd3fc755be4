// Package polltest waits in tests for something another goroutine does.
package polltest

import (
	"testing"
	"time"
)

// Interval is how often Until looks again.
const Interval = 10 * time.Millisecond

// Until checks cond every Interval until it holds; if timeout passes
// first, it fails the test with "timed out waiting for " + what.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(Interval)
	}
}
