package console

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"putokaz/referral"
)

func TestVerifyLogin(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	good := loginData(alice, "Alice", now.Add(-time.Hour), testToken)
	tamper := func(k, v string) url.Values {
		q := url.Values{}
		for key, vals := range good {
			q[key] = append([]string(nil), vals...)
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	extra := SignLogin(url.Values{"id": {"501"}, "first_name": {"Alice"}, "auth_date": {strconv.FormatInt(now.Unix(), 10)},
		"photo_url": {"https://t.me/i/userpic/320/a.jpg"}, "last_name": {"Ж"}}, testToken)
	for _, tc := range []struct {
		name string
		q    url.Values
		want error
	}{
		{"valid", good, nil},
		{"valid with every optional field", extra, nil},
		{"hash in capitals", tamper("hash", strings.ToUpper(good.Get("hash"))), nil},
		{"forged: signed with another token", loginData(alice, "Alice", now, "654321:other"), ErrLoginForged},
		{"forged: a field changed after signing", tamper("id", "502"), ErrLoginForged},
		{"forged: a field added", tamper("username", "bob"), ErrLoginForged},
		{"forged: hash of zeros", tamper("hash", strings.Repeat("0", 64)), ErrLoginForged},
		{"missing hash", tamper("hash", ""), ErrLoginMissing},
		{"missing id", tamper("id", ""), ErrLoginMissing},
		{"missing auth_date", tamper("auth_date", ""), ErrLoginMissing},
		{"expired", loginData(alice, "Alice", now.Add(-day-time.Second), testToken), ErrLoginExpired},
		{"future", loginData(alice, "Alice", now.Add(2*time.Minute), testToken), ErrLoginFuture},
		{"a little ahead (clock skew)", loginData(alice, "Alice", now.Add(30*time.Second), testToken), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := VerifyLogin(tc.q, testToken, now, day)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && (l.ID != alice || l.FirstName != "Alice") {
				t.Fatalf("login = %+v", l)
			}
		})
	}
	// The algorithm, written out once by hand as Telegram documents it.
	q := url.Values{"id": {"1"}, "first_name": {"A"}, "auth_date": {"1764676800"}}
	signed := SignLogin(q, "t")
	if got := signed.Get("hash"); got != handHash("auth_date=1764676800\nfirst_name=A\nid=1", "t") {
		t.Fatalf("hash %s differs from the documented data-check-string's", got)
	}
}

func TestSignIn(t *testing.T) {
	f := newFixture(t, "https://console.example.org", nil)
	f.seed()
	now := f.clock.Now()

	// A stranger with valid login data: refused, recorded.
	w := f.do("GET", "/auth?"+loginData(mallory, "Mallory", now, testToken).Encode(), nil, nil, "")
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "not a member") || len(w.Result().Cookies()) != 0 {
		t.Fatalf("non-member: %d %s", w.Code, w.Body.String())
	}
	// Forged and expired data: refused.
	if w := f.do("GET", "/auth?"+loginData(alice, "Alice", now, "9:forged").Encode(), nil, nil, ""); w.Code != http.StatusUnauthorized ||
		len(w.Result().Cookies()) != 0 {
		t.Fatalf("forged: %d", w.Code)
	}
	if w := f.do("GET", "/auth?"+loginData(alice, "Alice", now.Add(-25*time.Hour), testToken).Encode(), nil, nil, ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("expired: %d", w.Code)
	}
	// A member: a session cookie with every protection.
	data := loginData(alice, "Alice", now, testToken)
	w = f.do("GET", "/auth?"+data.Encode(), nil, nil, "")
	if w.Code != http.StatusOK {
		t.Fatalf("member: %d %s", w.Code, w.Body.String())
	}
	ck := w.Result().Cookies()[0]
	if ck.Name != cookieName || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || len(ck.Value) < 43 {
		t.Fatalf("cookie %+v", ck)
	}
	if !strings.Contains(w.Body.String(), `http-equiv="refresh"`) {
		t.Fatal("the signed-in page does not lead on")
	}
	// The same login data again (a copied link): refused.
	if w := f.do("GET", "/auth?"+data.Encode(), nil, nil, ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("replayed login data: %d", w.Code)
	}
	// Without a cookie, or with a made-up one: the sign-in page.
	for _, c := range []*http.Cookie{nil, {Name: cookieName, Value: newToken()}} {
		if w := f.do("GET", "/", nil, c, ""); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
			t.Fatalf("no session: %d %s", w.Code, w.Header().Get("Location"))
		}
	}
	page := f.do("GET", "/", nil, ck, "")
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "Alice") {
		t.Fatalf("waiting page: %d", page.Code)
	}
	// The login page carries the widget for the bot, sending back to /auth.
	login := f.do("GET", "/login", nil, nil, "").Body.String()
	for _, want := range []string{`src="https://telegram.org/js/telegram-widget.js?22"`, `data-telegram-login="putokaz_test_bot"`,
		`data-auth-url="https://console.example.org/auth"`} {
		if !strings.Contains(login, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	// Sign-out ends the session.
	ckBob, tok := f.signIn(bob, "Bob")
	if w := f.do("POST", "/logout", url.Values{"csrf": {tok}}, ckBob, ""); w.Code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", w.Code)
	}
	if w := f.do("GET", "/", nil, ckBob, ""); w.Code != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", w.Code)
	}
	whats := auditWhats(f)
	for _, want := range []string{"sign_in_refused:666", "sign_in:501", "sign_out:502"} {
		if !strings.Contains(whats, want) {
			t.Errorf("audit %s lacks %s", whats, want)
		}
	}
}

// auditWhats lists the audit log as "what:who[:case]", oldest first.
func auditWhats(f *fixture) string {
	es, _ := f.audit.Recent(context.Background(), 1000)
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		s := es[i].What + ":" + strconv.FormatInt(es[i].Who, 10)
		if es[i].Case != "" {
			s += ":" + es[i].Case
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestCSRF(t *testing.T) {
	f := newFixture(t, "https://console.example.org", nil)
	f.seed()
	ck, csrf := f.signIn(alice, "Alice")
	for name, body := range map[string]url.Values{"no token": {}, "wrong token": {"csrf": {newToken()}},
		"another session's token": {"csrf": {func() string { _, c := f.signIn(bob, "Bob"); return c }()}}} {
		w := f.do("POST", "/case/"+codeFresh+"/claim", body, ck, "")
		if w.Code != http.StatusForbidden {
			t.Fatalf("%s: %d", name, w.Code)
		}
	}
	if w := f.do("POST", "/logout", url.Values{}, ck, ""); w.Code != http.StatusForbidden {
		t.Fatalf("sign-out without token: %d", w.Code)
	}
	k, _, _ := f.svc.CaseRecord(context.Background(), codeFresh)
	if k.Status != referral.StatusReceived {
		t.Fatalf("a refused post changed the case: %s", k.Status)
	}
	w := f.do("POST", "/case/"+codeFresh+"/claim", url.Values{"csrf": {csrf}}, ck, "")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/case/"+codeFresh+"?done=claimed" {
		t.Fatalf("claim: %d %s", w.Code, w.Header().Get("Location"))
	}
	k, _, _ = f.svc.CaseRecord(context.Background(), codeFresh)
	if k.Status != referral.StatusClaimed || k.ClaimedBy != "tg:501" || k.ClaimedName != "Alice" {
		t.Fatalf("after claim: %+v", k)
	}
}

func TestActions(t *testing.T) {
	f := newFixture(t, "https://console.example.org", nil)
	f.seed()
	ctx := context.Background()
	ck, csrf := f.signIn(bob, "Bob")
	post := func(code, action string, extra ...string) string {
		t.Helper()
		body := url.Values{"csrf": {csrf}}
		for i := 0; i+1 < len(extra); i += 2 {
			body.Set(extra[i], extra[i+1])
		}
		w := f.do("POST", "/case/"+code+"/"+action, body, ck, "")
		if w.Code != http.StatusSeeOther {
			t.Fatalf("%s %s: %d %s", action, code, w.Code, w.Body.String())
		}
		loc, _ := url.Parse(w.Header().Get("Location"))
		return loc.Query().Get("done")
	}
	if got := post(codeClaimed, "claim"); got != "taken" {
		t.Errorf("claim a claimed case: %s", got)
	}
	if got := post(codeClosed, "close"); got != "not_open" {
		t.Errorf("close a closed case: %s", got)
	}
	if got := post(codeWithdrawn, "claim"); got != "withdrawn" {
		t.Errorf("claim a withdrawn case: %s", got)
	}
	if got := post(codeOverdue, "note", "text", "  "); got != "empty" {
		t.Errorf("empty note: %s", got)
	}
	if got := post(codeOverdue, "note", "text", "phoned, no answer"); got != "note" {
		t.Errorf("note: %s", got)
	}
	if got := post(codeOverdue, "close"); got != "closed" {
		t.Errorf("close: %s", got)
	}
	k, hist, _ := f.svc.CaseRecord(ctx, codeOverdue)
	if k.Status != referral.StatusClosed || k.ClosedName != "Bob" {
		t.Fatalf("closed case: %+v", k)
	}
	last := hist[len(hist)-2]
	if last.What != "note" || last.Text != "phoned, no answer" || last.Who != "staff:tg:502" {
		t.Fatalf("history: %+v", hist)
	}
	// Bob leaves group B: the next action on its case is refused (asked
	// again at once), though his session still lists the group.
	f.members.set(groupB, bob, false)
	if got := post(codeClosedB, "note", "text", "late"); got != "member" {
		t.Errorf("note by a former member: %s", got)
	}
	// A case of a group the member is not in is not shown at all.
	ckA, _ := f.signIn(alice, "Alice")
	if w := f.do("GET", "/case/"+codeOverdue, nil, ckA, ""); w.Code != http.StatusNotFound {
		t.Errorf("alice sees a case of group B: %d", w.Code)
	}
	if strings.Contains(f.do("GET", "/cases?status=all", nil, ckA, "").Body.String(), codeOverdue) {
		t.Error("alice's list shows a case of group B")
	}
	// The audit names actions, never the note's text.
	whats := auditWhats(f)
	for _, want := range []string{"note:502:" + codeOverdue, "close:502:" + codeOverdue} {
		if !strings.Contains(whats, want) {
			t.Errorf("audit %s lacks %s", whats, want)
		}
	}
	for _, e := range f.audit.e {
		if strings.Contains(e.What+e.Case, "phoned") {
			t.Fatal("a note's text reached the audit log")
		}
	}
}

func TestRecheckSignsOutRemovedMember(t *testing.T) {
	f := newFixture(t, "https://console.example.org", func(o *Options) { o.RecheckEvery = 10 * time.Minute })
	f.seed()
	ck, _ := f.signIn(alice, "Alice")
	calls := f.members.calls
	f.clock.Add(5 * time.Minute)
	if w := f.do("GET", "/", nil, ck, ""); w.Code != http.StatusOK || f.members.calls != calls {
		t.Fatalf("within the re-check period: %d, %d Bot API calls", w.Code, f.members.calls-calls)
	}
	// Telegram down at the re-check: not signed out, but not let in.
	f.clock.Add(6 * time.Minute)
	f.members.fail = true
	if w := f.do("GET", "/", nil, ck, ""); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("Telegram down: %d", w.Code)
	}
	f.members.fail = false
	if w := f.do("GET", "/", nil, ck, ""); w.Code != http.StatusOK {
		t.Fatalf("still a member: %d", w.Code)
	}
	f.members.set(groupA, alice, false)
	f.clock.Add(11 * time.Minute)
	w := f.do("GET", "/", nil, ck, "")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?e=removed" {
		t.Fatalf("removed member: %d %s", w.Code, w.Header().Get("Location"))
	}
	if s, _ := f.sessions.Get(context.Background(), ck.Value); s != nil {
		t.Fatal("the removed member's session still exists")
	}
	if !strings.Contains(auditWhats(f), "signed_out_not_member:501") {
		t.Fatal("no audit entry for the removal")
	}
	// The session also ends with its lifetime.
	f.members.set(groupA, alice, true)
	ck, _ = f.signIn(alice, "Alice")
	f.clock.Add(12*time.Hour + time.Second)
	if w := f.do("GET", "/", nil, ck, ""); w.Code != http.StatusSeeOther {
		t.Fatalf("expired session: %d", w.Code)
	}
}

func TestSignInRateLimit(t *testing.T) {
	f := newFixture(t, "https://console.example.org", func(o *Options) {
		o.SignInBurst, o.SignInEvery = 3, time.Minute
		o.TrustedProxies = []string{"10.0.0.0/8"}
	})
	now := f.clock.Now()
	try := func(remote, xff string) int {
		rec := newRec()
		f.h.ServeHTTP(rec, newReq("GET", "/auth?"+loginData(mallory, "M", now, "0:forged").Encode(), remote, xff))
		return rec.Code
	}
	for i := range 3 {
		if code := try("203.0.113.5:1000", ""); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	if code := try("203.0.113.5:1001", ""); code != http.StatusTooManyRequests {
		t.Fatalf("4th attempt: %d", code)
	}
	// Another address is not held back; a forged X-Forwarded-For from an
	// untrusted client changes nothing.
	if code := try("198.51.100.7:1000", ""); code != http.StatusUnauthorized {
		t.Fatalf("another address: %d", code)
	}
	if code := try("203.0.113.5:1002", "198.51.100.99"); code != http.StatusTooManyRequests {
		t.Fatalf("a client's own X-Forwarded-For was believed: %d", code)
	}
	// Behind the trusted proxy, each client is limited on its own.
	for i := range 3 {
		if code := try("10.1.2.3:5000", "192.0.2.1, 192.0.2.44"); code != http.StatusUnauthorized {
			t.Fatalf("proxied attempt %d: %d", i+1, code)
		}
	}
	if code := try("10.1.2.3:5000", "192.0.2.44"); code != http.StatusTooManyRequests {
		t.Fatalf("proxied 4th attempt: %d", code)
	}
	if code := try("10.1.2.3:5000", "192.0.2.45"); code != http.StatusUnauthorized {
		t.Fatalf("another client behind the proxy: %d", code)
	}
	// The limit refills with time.
	f.clock.Add(time.Minute)
	now = f.clock.Now()
	if code := try("203.0.113.5:1003", ""); code != http.StatusUnauthorized {
		t.Fatalf("after a minute: %d", code)
	}
}

func TestClientIP(t *testing.T) {
	p := parseProxies([]string{"10.0.0.0/8", "192.168.1.1"})
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.5:1", "", "203.0.113.5"},
		{"203.0.113.5:1", "1.2.3.4", "203.0.113.5"},
		{"10.0.0.1:1", "1.2.3.4", "1.2.3.4"},
		{"10.0.0.1:1", "6.6.6.6, 1.2.3.4", "1.2.3.4"},
		{"10.0.0.1:1", "1.2.3.4, 192.168.1.1", "1.2.3.4"},
		{"10.0.0.1:1", "garbage", "10.0.0.1"},
		{"10.0.0.1:1", "", "10.0.0.1"},
		{"[::ffff:203.0.113.9]:1", "", "203.0.113.9"},
	} {
		r := newReq("GET", "/", tc.remote, tc.xff)
		if got := p.clientIP(r); got != netip.MustParseAddr(tc.want) {
			t.Errorf("%s / %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, "https://example.org/console", nil)
	f.seed()
	if w := f.do("GET", "/login", nil, nil, ""); w.Code != http.StatusNotFound {
		t.Fatalf("outside the public URL's path: %d", w.Code)
	}
	w := f.do("GET", "/console/login", nil, nil, "")
	h := w.Header()
	if w.Code != http.StatusOK || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" ||
		h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "script-src https://telegram.org;") ||
		strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Fatalf("headers %v (%d)", h, w.Code)
	}
	if !strings.Contains(w.Body.String(), `data-auth-url="https://example.org/console/auth"`) {
		t.Fatal("the widget does not come back under the path")
	}
	if strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), "style=") {
		t.Fatal("inline script or style on a page")
	}
	w = f.do("GET", "/console/auth?"+loginData(alice, "Alice", f.clock.Now(), testToken).Encode(), nil, nil, "")
	ck := w.Result().Cookies()[0]
	if ck.Path != "/console/" {
		t.Fatalf("cookie path %q", ck.Path)
	}
	w = f.do("GET", "/console/case/"+codeFresh, nil, ck, "")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("case page: %d %v", w.Code, w.Header())
	}
	if css := f.do("GET", "/console/static/console.css", nil, nil, ""); css.Code != http.StatusOK {
		t.Fatalf("style sheet: %d", css.Code)
	}
}

func TestCasePage(t *testing.T) {
	f := newFixture(t, "https://console.example.org", nil)
	f.seed()
	ck, _ := f.signIn(bob, "Bob")
	body := f.do("GET", "/case/"+codeClosedB, nil, ck, "").Body.String()
	for _, want := range []string{"PK-2DDD", "referral", "legal", "fa", "closed", "Bob", "Beograd", "v1",
		"case received", "claimed", "internal note", "called the lawyer", "the person wrote", "is there news?"} {
		if !strings.Contains(body, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="no-text"`) {
		t.Error("a case with only text messages says some are listed without content")
	}
	if strings.Contains(body, `id="claim"`) || strings.Contains(body, `id="close"`) {
		t.Error("a closed case offers claim or close")
	}
	body = f.do("GET", "/case/"+codeWithdrawn, nil, ck, "").Body.String()
	if !strings.Contains(body, "withdrew") || strings.Contains(body, "Beograd") {
		t.Error("a withdrawn case shows answers or no notice")
	}
	if !strings.Contains(auditWhats(f), "view:502:"+codeClosedB) {
		t.Fatalf("no audit entry of the view: %s", auditWhats(f))
	}
	if w := f.do("GET", "/case/PK-ZZZZ", nil, ck, ""); w.Code != http.StatusNotFound {
		t.Fatalf("unknown case: %d", w.Code)
	}
}

func TestWaitingAndFilters(t *testing.T) {
	f := newFixture(t, "https://console.example.org", nil)
	f.seed()
	ck, _ := f.signIn(bob, "Bob")
	order := func(body string) []string {
		var out []string
		for _, part := range strings.Split(body, `data-code="`)[1:] {
			out = append(out, part[:7])
		}
		return out
	}
	waiting := f.do("GET", "/", nil, ck, "").Body.String()
	if got := order(waiting); strings.Join(got, " ") != codeOverdue+" "+codeFresh {
		t.Fatalf("waiting: %v", got)
	}
	// No outbox runs here: no card reached Telegram, and the list says so.
	if strings.Count(waiting, `class="badge notshown"`) != 2 || !strings.Contains(waiting, "not in Telegram yet") {
		t.Fatal("cases not yet in Telegram are not marked")
	}
	for q, want := range map[string]string{
		"":                           codeClaimed + " " + codeOverdue + " " + codeFresh,
		"?status=all":                codeClosed + " " + codeClaimed + " " + codeOverdue + " " + codeClosedB + " " + codeWithdrawn + " " + codeFresh,
		"?status=closed":             codeClosed + " " + codeClosedB,
		"?status=all&service=legal":  codeOverdue + " " + codeClosedB,
		"?status=all&lang=fa":        codeOverdue + " " + codeClosedB,
		"?status=open&age=24h":       codeClaimed + " " + codeOverdue,
		"?status=all&overdue=1":      codeOverdue,
		"?status=withdrawn":          codeWithdrawn,
		"?status=all&lang=en&age=1h": codeFresh,
	} {
		if got := strings.Join(order(f.do("GET", "/cases"+q, nil, ck, "").Body.String()), " "); got != want {
			t.Errorf("/cases%s: %s, want %s", q, got, want)
		}
	}
}

func TestReport(t *testing.T) {
	f := newFixture(t, "https://console.example.org", nil)
	f.seed()
	ck, _ := f.signIn(bob, "Bob")
	w := f.do("GET", "/report.csv", nil, ck, "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %v", w.Code, w.Header())
	}
	want := wantCSV(f, false)
	if got := w.Body.String(); got != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", got, want)
	}
	for _, bad := range []string{"PK-", "tg:", "Beograd", "Bob"} {
		if strings.Contains(w.Body.String(), bad) {
			t.Errorf("the report holds %q", bad)
		}
	}
	page := f.do("GET", "/report", nil, ck, "").Body.String()
	for _, want := range []string{"10 min", "30 min", "2 h 0 min", "1 h 0 min"} {
		if !strings.Contains(page, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	if !strings.Contains(auditWhats(f), "export:502") {
		t.Error("no audit entry for the export")
	}
	// Alice sees her group's cases only.
	ckA, _ := f.signIn(alice, "Alice")
	if got := f.do("GET", "/report.csv", nil, ckA, "").Body.String(); strings.Contains(got, "legal") {
		t.Errorf("alice's report counts group B: %s", got)
	}
}

// wantCSV is the report of the seeded cases, by hand; freshClaimed: after
// the fresh case was claimed at "now" (an hour after it was received).
func wantCSV(f *fixture, freshClaimed bool) string {
	wk := func(d time.Duration) string {
		y, n := f.start.Add(d).ISOWeek()
		return strconv.Itoa(y) + "-W" + twoDigits(n)
	}
	day := 24 * time.Hour
	fresh, all := ",avr,en,1,1,0,0,0,,,,\n", "all,all,,6,2,1,2,1,10,30,60,120\n"
	if freshClaimed {
		// Claim times 5, 10, 30, 60 min: median (rank 2) 10, p90 (rank 4) 60.
		fresh, all = ",avr,en,1,0,1,0,0,60,60,,\n", "all,all,,6,1,2,2,1,10,60,60,120\n"
	}
	return "week,service,language,cases,waiting,claimed,closed,withdrawn,claim_median_min,claim_p90_min,close_median_min,close_p90_min\n" +
		wk(28*day-time.Hour) + fresh +
		wk(14*day) + ",avr,,1,0,0,0,1,,,,\n" +
		wk(7*day) + ",legal,fa,1,0,0,1,0,5,5,60,60\n" +
		wk(0) + ",avr,ar,2,0,1,1,0,10,30,120,120\n" +
		wk(0) + ",legal,fa,1,1,0,0,0,,,,\n" +
		all
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func TestPercentiles(t *testing.T) {
	m := time.Minute
	for _, tc := range []struct {
		in       []time.Duration
		med, p90 time.Duration
	}{
		{[]time.Duration{5 * m}, 5 * m, 5 * m},
		{[]time.Duration{30 * m, 10 * m}, 10 * m, 30 * m},
		{[]time.Duration{1 * m, 2 * m, 3 * m, 4 * m, 5 * m, 6 * m, 7 * m, 8 * m, 9 * m, 10 * m}, 5 * m, 9 * m},
		{[]time.Duration{3 * m, 1 * m, 2 * m}, 2 * m, 3 * m},
	} {
		med, p90, ok := percentiles(tc.in)
		if !ok || med != tc.med || p90 != tc.p90 {
			t.Errorf("%v: %v %v, want %v %v", tc.in, med, p90, tc.med, tc.p90)
		}
	}
	if _, _, ok := percentiles(nil); ok {
		t.Error("percentiles of nothing")
	}
}

func TestTexts(t *testing.T) {
	for _, lang := range []string{"sr-Cyrl", "sr-Latn"} {
		tx := textsFor(lang)
		for k := range textsEn {
			if tx[k] == "" {
				t.Errorf("%s lacks %s", lang, k)
			}
		}
		if len(tx) != len(textsEn) {
			t.Errorf("%s has %d texts, English %d", lang, len(tx), len(textsEn))
		}
	}
	if got := textsFor("sr-Latn")["nav.waiting"]; got != "Na čekanju" {
		t.Errorf("sr-Latn: %q", got)
	}
	f := newFixture(t, "https://console.example.org", func(o *Options) { o.Lang = "sr-Latn" })
	f.seed()
	ck, _ := f.signIn(bob, "Bob")
	if body := f.do("GET", "/", nil, ck, "").Body.String(); !strings.Contains(body, "Slučajevi na čekanju") || !strings.Contains(body, `lang="sr-Latn"`) ||
		!strings.Contains(body, "1 č 0 min") {
		t.Error("the waiting page is not in Serbian")
	}
}

// TestTemplatesUseKnownTexts: every {{t "…"}} of the templates names a text
// of every language (a missing one would render as nothing).
func TestTemplatesUseKnownTexts(t *testing.T) {
	entries, err := files.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\{\{t "([^"]+)"\}\}`)
	n := 0
	for _, e := range entries {
		b, _ := files.ReadFile("templates/" + e.Name())
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			for _, lang := range []string{"en", "sr-Cyrl", "sr-Latn"} {
				if textsFor(lang)[m[1]] == "" {
					t.Errorf("%s: %s has no %s text", e.Name(), m[1], lang)
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d texts found in the templates: the pattern is broken", n)
	}
}
