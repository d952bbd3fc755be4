package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"putokaz/internal/engine"
	"putokaz/internal/testkit/testlog"
	"putokaz/referral"
)

const testToken = "123456:TEST-token-of-the-console"

// Staff groups of the fixture: avr's cases go to groupA, legal's to groupB.
const (
	groupA int64 = -1001
	groupB int64 = -1002
)

// Staff: alice is in group A, bob in both, mallory in none.
const (
	alice   int64 = 501
	bob     int64 = 502
	mallory int64 = 666
)

// clock is a settable clock shared by the referral service and the console.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeMembers answers getChatMember from a table.
type fakeMembers struct {
	mu    sync.Mutex
	in    map[[2]int64]bool
	fail  bool
	calls int
}

func (f *fakeMembers) IsMember(_ context.Context, group, user int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return false, errors.New("telegram is down")
	}
	return f.in[[2]int64{group, user}], nil
}

func (f *fakeMembers) set(group, user int64, member bool) {
	f.mu.Lock()
	f.in[[2]int64{group, user}] = member
	f.mu.Unlock()
}

type fixture struct {
	t        *testing.T
	clock    *clock
	svc      *referral.Desk
	members  *fakeMembers
	sessions *MemorySessions
	audit    *MemoryAudit
	console  *Console
	h        http.Handler
	start    time.Time // when the first seeded case was received
	logins   int       // sign-ins so far (each with its own login data)
}

// newFixture builds a referral service in memory and a console over it.
func newFixture(t *testing.T, publicURL string, tweak func(*Options)) *fixture {
	t.Helper()
	// A Monday, 09:00 UTC, about four weeks ago (cases live ~120 days).
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -28)
	for start.Weekday() != time.Monday {
		start = start.AddDate(0, 0, -1)
	}
	start = start.Add(9 * time.Hour)
	f := &fixture{t: t, clock: &clock{t: start}, start: start,
		members:  &fakeMembers{in: map[[2]int64]bool{}},
		sessions: nil, audit: &MemoryAudit{}}
	f.sessions = NewMemorySessions(f.clock.Now)
	f.members.set(groupA, alice, true)
	f.members.set(groupA, bob, true)
	f.members.set(groupB, bob, true)
	mem := referral.NewMemoryStaff()
	log := slog.New(slog.NewTextHandler(testlog.T(t), nil))
	svc, err := referral.New(referral.Options{Store: referral.NewMemoryStore(), Staff: mem, Now: f.clock.Now, Log: log,
		Config: referral.Config{Queues: map[string]referral.Queue{"avr": {Group: groupA}, "legal": {Group: groupB}}}})
	if err != nil {
		t.Fatal(err)
	}
	mem.Bind(svc)
	f.svc = svc
	o := Options{Cases: svc, Members: f.members, Sessions: f.sessions, Audit: f.audit, BotToken: testToken,
		BotUsername: func() string { return "putokaz_test_bot" }, PublicURL: publicURL, Lang: "en",
		InsecureCookie: strings.HasPrefix(publicURL, "http://"), Now: f.clock.Now, SignInBurst: 100, Log: log}
	if tweak != nil {
		tweak(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.console, f.h = c, c.Handler()
	return f
}

// Seeded cases (see seed).
const (
	codeClosed    = "PK-2AAA" // avr, ar, claimed after 10 min, closed after 2 h
	codeClaimed   = "PK-2BBB" // avr, ar, claimed after 30 min
	codeOverdue   = "PK-2CCC" // legal, fa, waiting since the first day
	codeClosedB   = "PK-2DDD" // legal, fa, claimed after 5 min, closed after 1 h
	codeFresh     = "PK-2EEE" // avr, en, received an hour before "now", waiting
	codeWithdrawn = "PK-2FFF" // avr, fa, withdrawn by its person (/delete)
)

// seed stores six cases over four weeks and leaves the clock at "now" (start
// + 28 days).
func (f *fixture) seed() {
	t := f.t
	ctx := context.Background()
	ref := func(user, lang, service, code string) {
		t.Helper()
		err := f.svc.Apply(ctx, user, lang, engine.Effect{Kind: engine.EffectReferral, Service: service, Code: code,
			Vars: map[string]string{"city": "Beograd"}, ConsentAt: f.clock.Now(), ConsentVersion: "v1"})
		if err != nil {
			t.Fatalf("seed %s: %v", code, err)
		}
	}
	must := func(out referral.Outcome, err error) {
		t.Helper()
		if err != nil || out != referral.Done {
			t.Fatalf("seed: %v %v", out, err)
		}
	}
	at := func(d time.Duration) { f.clock.Set(f.start.Add(d)) }
	at(0)
	ref("tg:1", "ar", "avr", codeClosed)
	at(10 * time.Minute)
	must(f.svc.ClaimAs(ctx, codeClosed, "tg:502", "Bob"))
	at(time.Hour)
	ref("tg:2", "ar", "avr", codeClaimed)
	at(90 * time.Minute)
	must(f.svc.ClaimAs(ctx, codeClaimed, "tg:501", "Alice"))
	at(2 * time.Hour)
	must(f.svc.CloseAs(ctx, codeClosed, "tg:502", "Bob"))
	ref("tg:3", "fa", "legal", codeOverdue)
	at(7 * 24 * time.Hour)
	ref("tg:4", "fa", "legal", codeClosedB)
	at(7*24*time.Hour + 5*time.Minute)
	must(f.svc.ClaimAs(ctx, codeClosedB, "tg:502", "Bob"))
	at(7*24*time.Hour + time.Hour)
	must(f.svc.Note(ctx, codeClosedB, "tg:502", "called the lawyer"))
	if err := f.svc.Apply(ctx, "tg:4", "fa", engine.Effect{Kind: engine.EffectRelay, Code: codeClosedB,
		Input: &engine.Input{Kind: engine.InText, Text: "is there news?"}}); err != nil {
		t.Fatalf("seed a message to staff: %v", err)
	}
	must(f.svc.CloseAs(ctx, codeClosedB, "tg:502", "Bob"))
	at(14 * 24 * time.Hour)
	ref("tg:6", "fa", "avr", codeWithdrawn)
	if err := f.svc.Apply(ctx, "tg:6", "fa", engine.Effect{Kind: engine.EffectErase}); err != nil {
		t.Fatal(err)
	}
	at(28*24*time.Hour - time.Hour)
	ref("tg:5", "en", "avr", codeFresh)
	at(28 * 24 * time.Hour)
}

// loginData is login data signed with key (the bot token, or a forgery's).
func loginData(user int64, name string, at time.Time, key string) url.Values {
	return SignLogin(url.Values{"id": {strconv.FormatInt(user, 10)}, "first_name": {name},
		"auth_date": {strconv.FormatInt(at.Unix(), 10)}, "username": {strings.ToLower(name)}}, key)
}

// do serves one request.
func (f *fixture) do(method, target string, body url.Values, cookie *http.Cookie, remote string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(body.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	if remote != "" {
		r.RemoteAddr = remote
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// signIn signs user in and returns the session cookie and its CSRF token.
func (f *fixture) signIn(user int64, name string) (*http.Cookie, string) {
	f.t.Helper()
	// Login data is used once: each sign-in gets its own (an auth_date a
	// second earlier than the last).
	f.logins++
	at := f.clock.Now().Add(-time.Duration(f.logins) * time.Second)
	w := f.do("GET", "/auth?"+loginData(user, name, at, testToken).Encode(), nil, nil, "")
	if w.Code != http.StatusOK {
		f.t.Fatalf("sign in %d: %d %s", user, w.Code, w.Body.String())
	}
	var ck *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			ck = c
		}
	}
	if ck == nil {
		f.t.Fatalf("sign in %d: no session cookie", user)
	}
	page := f.do("GET", "/", nil, ck, "")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.Body.String())
	if m == nil {
		f.t.Fatalf("no CSRF token on the waiting page: %s", page.Body.String())
	}
	return ck, m[1]
}

func newReq(method, target, remote, xff string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = remote
	if xff != "" {
		r.Header.Set("X-Forwarded-For", xff)
	}
	return r
}

func newRec() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// handHash is the documented check: HMAC-SHA-256 of the data-check-string
// keyed with SHA-256(token), in hex.
func handHash(dataCheck, token string) string {
	key := sha256.Sum256([]byte(token))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(dataCheck))
	return hex.EncodeToString(m.Sum(nil))
}
