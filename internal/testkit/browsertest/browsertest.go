// Package browsertest starts Debian's headless Chromium for the browser
// tests of the web pages (the playground, the supervisors' console), with
// one set of launch options. Imported by tests only.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// findChromium returns the path of chromium. It fails the test, never skips it, when
// the browser is missing (a browser test that does not run proves nothing);
// what names what could not be tested ("the playground").
func findChromium(t testing.TB, what string) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatalf("chromium is not installed, so %s cannot be tested in a browser.\n"+
		"Install it with:  apt-get update && apt-get install -y chromium\n"+
		"(scripts/test.sh does this when it is missing)", what)
	return ""
}

// Start launches a headless Chromium with a fresh profile and no background
// networking, opens one tab and returns its context (for chromedp.Do and
// chromedp.Run); both end with the test.
func Start(t testing.TB, ctx context.Context, what string) context.Context {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(findChromium(t, what)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	bctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}
