package browsertest_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"putokaz/internal/testkit/browsertest"
)

// TestStart: the browser starts with the shared options and runs a page's
// script.
func TestStart(t *testing.T) {
	ctx := browsertest.Start(t, t.Context(), "the browser helper")
	got, err := chromedp.Run(ctx, chromedp.Evaluate[int]("6 * 7"))
	if err != nil || got != 42 {
		t.Fatalf("evaluate in chromium: %v, %v", got, err)
	}
}
