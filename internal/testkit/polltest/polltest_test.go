package polltest_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"putokaz/internal/testkit/polltest"
)

func TestUntilWaitsForTheCondition(t *testing.T) {
	var done atomic.Bool
	time.AfterFunc(30*time.Millisecond, func() { done.Store(true) })
	polltest.Until(t, 5*time.Second, "the timer", done.Load)
	if !done.Load() {
		t.Fatal("Until returned before the condition held")
	}
}

// failT records a fatal failure instead of ending the test.
type failT struct {
	testing.TB
	msg string
}

func (f *failT) Helper() {}

func (f *failT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func TestUntilFailsAfterTheTimeout(t *testing.T) {
	ft := &failT{TB: t}
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil && r != any(ft) {
				panic(r)
			}
		}()
		polltest.Until(ft, 50*time.Millisecond, "nothing", func() bool { return false })
	}()
	if ft.msg != "timed out waiting for nothing" {
		t.Errorf("failure = %q", ft.msg)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", d)
	}
}
