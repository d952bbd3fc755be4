package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"putokaz/internal/testkit/browsertest"
	"putokaz/referral"
)

// tab is one headless Chromium tab (the playground's launch options).
type tab struct {
	t   *testing.T
	ctx context.Context
}

func newTab(t *testing.T) *tab {
	t.Helper()
	bctx := browsertest.Start(t, t.Context(), "the console")
	return &tab{t: t, ctx: bctx}
}

func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func evalIn[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// wait polls a condition on the page. A navigation while it polls (a
// redirect, the meta refresh after sign-in) destroys the page's context:
// that is retried, not a failure.
func (b *tab) wait(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { try { return (`+cond+`) && document.readyState === 'complete'; } catch (e) { return false; } })()`))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("%s: not reached within 10 s (%s; last error %v); page %s", what, cond, last,
		evalIn[string](b, `location.href + ' ' + document.body.innerText.slice(0, 300)`))
}

func (b *tab) open(url, cond string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
	b.wait("load "+url, cond)
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	return evalIn[string](b, `(document.querySelector(`+string(q)+`) || {textContent: ''}).textContent`)
}

// shot saves a screenshot under testdata/artifacts (git-ignored), for a
// person to look at.
func (b *tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll("testdata/artifacts", 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata/artifacts", name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// codes are the cases listed on the page, in order.
func (b *tab) codes() string {
	return evalIn[string](b, `[...document.querySelectorAll('tr.case')].map((r) => r.dataset.code).join(' ')`)
}

// TestBrowser drives the console in headless Chromium as a stranger and as
// a member: refused sign-ins, the waiting list, filters, a case view (and
// its audit entry), a claim, a post without its CSRF token, the CSV export.
func TestBrowser(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	f := newFixture(t, base, func(o *Options) { o.BotUsername = func() string { return "" } }) // no widget: no network
	f.seed()
	srv.Config.Handler = f.h
	srv.Start()
	t.Cleanup(srv.Close)
	b := newTab(t)
	now := f.clock.Now()

	// Not signed in: the sign-in page.
	b.open(base+"/", `location.pathname === '/login'`)

	// A stranger with genuine login data, forged data, expired data.
	b.open(base+"/auth?"+loginData(mallory, "Mallory", now, testToken).Encode(), `!!document.querySelector('#error')`)
	if got := b.text("#error"); !strings.Contains(got, "not a member") {
		t.Fatalf("stranger: %q", got)
	}
	b.open(base+"/", `location.pathname === '/login'`)
	b.open(base+"/auth?"+loginData(bob, "Bob", now, "42:not-the-bot").Encode(), `!!document.querySelector('#error')`)
	if got := b.text("#error"); !strings.Contains(got, "not signed by Telegram") {
		t.Fatalf("forged: %q", got)
	}
	b.open(base+"/auth?"+loginData(bob, "Bob", now.Add(-30*time.Hour), testToken).Encode(), `!!document.querySelector('#error')`)
	if got := b.text("#error"); !strings.Contains(got, "too old") {
		t.Fatalf("expired: %q", got)
	}
	b.open(base+"/", `location.pathname === '/login'`)

	// A member signs in and lands on the waiting cases, oldest first.
	b.open(base+"/auth?"+loginData(bob, "Bob", now, testToken).Encode(), `location.pathname === '/' && !!document.querySelector('#cases')`)
	if got := b.codes(); got != codeOverdue+" "+codeFresh {
		t.Fatalf("waiting: %q", got)
	}
	if !evalIn[bool](b, `document.querySelector('tr[data-code="`+codeOverdue+`"]').classList.contains('overdue')`) ||
		evalIn[bool](b, `document.querySelector('tr[data-code="`+codeFresh+`"]').classList.contains('overdue')`) {
		t.Fatal("overdue marks wrong")
	}
	b.shot("console-waiting.png")

	// Filters.
	b.do("all cases", chromedp.Click(chromedp.ID("nav-cases")))
	b.wait("the cases page", `location.pathname === '/cases' && !!document.querySelector('#filters')`)
	if got := b.codes(); got != codeClaimed+" "+codeOverdue+" "+codeFresh {
		t.Fatalf("open cases: %q", got)
	}
	evalIn[bool](b, `document.querySelector('#f-service').value = 'legal'; document.querySelector('#f-status').value = 'all'; true`)
	b.do("filter", chromedp.Click(chromedp.ID("f-apply")))
	b.wait("filtered", `location.search.includes('service=legal')`)
	if got := b.codes(); got != codeOverdue+" "+codeClosedB {
		t.Fatalf("legal, all: %q", got)
	}
	evalIn[bool](b, `document.querySelector('#f-service').value = ''; document.querySelector('#f-lang').value = 'ar'; document.querySelector('#f-status').value = 'closed'; true`)
	b.do("filter", chromedp.Click(chromedp.ID("f-apply")))
	b.wait("filtered", `location.search.includes('lang=ar')`)
	if got := b.codes(); got != codeClosed {
		t.Fatalf("ar, closed: %q", got)
	}
	evalIn[bool](b, `document.querySelector('#f-lang').value = ''; document.querySelector('#f-status').value = 'all'; document.querySelector('#f-overdue').checked = true; true`)
	b.do("filter", chromedp.Click(chromedp.ID("f-apply")))
	b.wait("filtered", `location.search.includes('overdue=1')`)
	if got := b.codes(); got != codeOverdue {
		t.Fatalf("overdue: %q", got)
	}

	// A case view is written to the audit log.
	b.open(base+"/", `!!document.querySelector('#cases')`)
	b.do("open the fresh case", chromedp.Click(chromedp.CSS(`tr[data-code="`+codeFresh+`"] a`)))
	b.wait("the case page", `!!document.querySelector('#code')`)
	if !strings.Contains(auditWhats(f), "view:502:"+codeFresh) {
		t.Fatalf("no audit entry of the view: %s", auditWhats(f))
	}

	// A post without the CSRF token is refused and changes nothing.
	evalIn[bool](b, `(() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/case/`+codeFresh+`/claim';
		document.body.appendChild(f); f.submit(); return true; })()`)
	b.wait("the refusal", `location.pathname.endsWith('/claim') && !!document.querySelector('#error')`)
	if got := b.text("#error"); !strings.Contains(got, "security token") {
		t.Fatalf("csrf-less post: %q", got)
	}
	if k, _, _ := f.svc.CaseRecord(context.Background(), codeFresh); k.Status != referral.StatusReceived {
		t.Fatalf("the refused post claimed the case")
	}

	// Claim through the page.
	b.open(base+"/case/"+codeFresh, `!!document.querySelector('#claim')`)
	b.do("claim", chromedp.Click(chromedp.ID("claim")))
	b.wait("claimed", `location.search.includes('done=claimed') && !!document.querySelector('#flash')`)
	if got := b.text("#status"); !strings.Contains(got, "claimed") {
		t.Fatalf("status after claim: %q", got)
	}
	if got := b.text("#claimed"); !strings.Contains(got, "Bob") {
		t.Fatalf("claimed by: %q", got)
	}
	k, _, _ := f.svc.CaseRecord(context.Background(), codeFresh)
	if k.Status != referral.StatusClaimed || k.ClaimedBy != "tg:502" {
		t.Fatalf("case after claim: %+v", k)
	}
	if evalIn[bool](b, `!!document.querySelector('#claim')`) {
		t.Fatal("the claim button is still offered")
	}
	b.shot("console-case.png")

	// The CSV export matches the seeded cases. The page runs no script
	// (connect-src is 'none'), so the download is fetched with the
	// browser's own session cookie, which is HttpOnly and SameSite=Strict.
	b.open(base+"/report", `!!document.querySelector('#report')`)
	b.shot("console-report.png")
	href := evalIn[string](b, `document.querySelector('#csv').href`)
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == cookieName {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie in the browser: %+v", session)
	}
	req, _ := http.NewRequest("GET", href, nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := wantCSV(f, true); string(body) != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", body, want)
	}

	// Signing out ends the session.
	b.do("sign out", chromedp.Click(chromedp.ID("signout")))
	b.wait("signed out", `location.pathname === '/login'`)
	b.open(base+"/cases", `location.pathname === '/login'`)
}
