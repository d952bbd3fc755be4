package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"putokaz/referral"
)

//go:embed templates/*.html static/*
var files embed.FS

// Cases is what the console reads and does through package referral
// (*referral.Desk).
type Cases interface {
	Cases(ctx context.Context) ([]*referral.Case, error)
	CaseRecord(ctx context.Context, code string) (*referral.Case, []referral.Entry, error)
	ClaimAs(ctx context.Context, code, by, name string) (referral.Outcome, error)
	CloseAs(ctx context.Context, code, by, name string) (referral.Outcome, error)
	Note(ctx context.Context, code, by, text string) (referral.Outcome, error)
	// Due is when the case's service expects it claimed (its claim_within
	// in working hours); zero when the service sets no time.
	Due(c *referral.Case) time.Time
	ServiceName(id string) string
	LanguageName(tag string) string
	StaffGroups() []int64
}

// Members tells whether a Telegram user is a member of a staff group now
// (*telegramstaff.Membership: getChatMember, briefly cached).
type Members interface {
	IsMember(ctx context.Context, group, user int64) (bool, error)
}

// Options configure the console.
type Options struct {
	Cases    Cases
	Members  Members
	Sessions Sessions
	Audit    Audit
	// BotToken verifies Telegram Login data; BotUsername names the bot in
	// the login widget (from getMe once the bot has started).
	BotToken    string
	BotUsername func() string
	// PublicURL is the console's address as browsers reach it; its path is
	// where the console's pages are (the handler strips it).
	PublicURL string
	// Lang is the staff language: en, sr-Latn or sr-Cyrl.
	Lang string
	// SessionLifetime [12h], RecheckEvery [10m]: how long a sign-in lasts
	// and how often membership is checked again.
	SessionLifetime time.Duration
	RecheckEvery    time.Duration
	// OverdueAfter marks cases waiting unclaimed longer, for a service whose
	// directory entry sets no claim_within [24h].
	OverdueAfter time.Duration
	// LoginMaxAge refuses older login data [24h].
	LoginMaxAge time.Duration
	// SignInEvery and SignInBurst bound sign-in attempts per client
	// address [one per 10s, bursts of 5].
	SignInEvery time.Duration
	SignInBurst int
	// InsecureCookie leaves Secure off the cookie (http://localhost only).
	InsecureCookie bool
	TrustedProxies []string
	// Zone shows times (nil: UTC).
	Zone *time.Location
	Log  *slog.Logger
	Now  func() time.Time
}

// Console serves the supervisors' web console.
type Console struct {
	o       Options
	base    string // path prefix ("" or "/console")
	authURL string
	t       map[string]string
	tmpl    map[string]*template.Template
	proxies proxies
	log     *slog.Logger
	now     func() time.Time
	cookie  string
	handler http.Handler
}

// maxForm bounds a posted form (a note is at most 4000 characters).
const maxForm = 64 << 10

// cookieName is the session cookie's name.
const cookieName = "putokaz_console"

// New builds the console.
func New(o Options) (*Console, error) {
	if o.Cases == nil || o.Members == nil || o.Sessions == nil || o.Audit == nil {
		return nil, errors.New("console: cases, members, sessions and audit are required")
	}
	if o.BotToken == "" {
		return nil, errors.New("console: the bot token is required to verify Telegram Login")
	}
	u, err := url.Parse(o.PublicURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("console: public URL %q is not an absolute URL", o.PublicURL)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SessionLifetime, 12*time.Hour)
	def(&o.RecheckEvery, 10*time.Minute)
	def(&o.OverdueAfter, 24*time.Hour)
	def(&o.LoginMaxAge, 24*time.Hour)
	def(&o.SignInEvery, 10*time.Second)
	if o.SignInBurst <= 0 {
		o.SignInBurst = 5
	}
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	if o.BotUsername == nil {
		o.BotUsername = func() string { return "" }
	}
	c := &Console{o: o, base: strings.TrimRight(u.Path, "/"), t: textsFor(o.Lang), log: o.Log, now: o.Now,
		proxies: parseProxies(o.TrustedProxies), cookie: cookieName}
	c.authURL = strings.TrimRight(o.PublicURL, "/") + "/auth"
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "console")
	if c.now == nil {
		c.now = time.Now
	}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.handler = c.routes()
	return c, nil
}

// Handler serves the console (paths under the public URL's path).
func (c *Console) Handler() http.Handler { return c.handler }

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", c.serveLogin)
	mux.HandleFunc("GET /auth", c.serveAuth)
	mux.HandleFunc("POST /logout", c.signedIn(c.serveLogout))
	mux.HandleFunc("GET /{$}", c.signedIn(c.serveWaiting))
	mux.HandleFunc("GET /cases", c.signedIn(c.serveCases))
	mux.HandleFunc("GET /case/{code}", c.signedIn(c.serveCase))
	mux.HandleFunc("POST /case/{code}/{action}", c.signedIn(c.serveAction))
	mux.HandleFunc("GET /report", c.signedIn(c.serveReport))
	mux.HandleFunc("GET /report.csv", c.signedIn(c.serveReportCSV))
	mux.HandleFunc("GET /audit", c.signedIn(c.serveAudit))
	var h http.Handler = mux
	if c.base != "" {
		outer := http.NewServeMux()
		outer.Handle(c.base+"/", http.StripPrefix(c.base, mux))
		h = outer
	}
	return securityHeaders(h)
}

// csp allows no inline script or style: only the Telegram Login widget's
// script (telegram.org) and its frame (oauth.telegram.org).
const csp = "default-src 'none'; script-src https://telegram.org; frame-src https://oauth.telegram.org; " +
	"style-src 'self'; img-src 'self' https://telegram.org https://t.me; form-action 'self'; base-uri 'none'; " +
	"frame-ancestors 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		if !strings.Contains(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// sessionKey carries the request's session.
type sessionKey struct{}

type current struct {
	id string
	s  *Session
}

func sessionOf(r *http.Request) current { return r.Context().Value(sessionKey{}).(current) }

// signedIn lets a request through with a live session of a member of a staff
// group (checked again every RecheckEvery), and a POST only with the
// session's CSRF token.
func (c *Console) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(c.cookie)
		if err != nil || ck.Value == "" {
			c.toLogin(w, r, "")
			return
		}
		s, err := c.o.Sessions.Get(r.Context(), ck.Value)
		if err != nil {
			c.fail(w, "read session", err)
			return
		}
		now := c.now()
		if s == nil || !now.Before(s.Expires) {
			c.clearCookie(w)
			c.toLogin(w, r, "")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			tok := r.PostFormValue("csrf")
			if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.CSRF)) != 1 {
				c.render(w, http.StatusForbidden, "message", c.page(r, nil, map[string]any{"Message": c.t["forbidden"]}))
				return
			}
		}
		if now.Sub(s.Checked) >= c.o.RecheckEvery {
			groups, err := c.memberOf(r.Context(), s.User)
			if err != nil {
				c.log.Warn("could not re-check a console member's staff groups", "err", err)
				c.render(w, http.StatusServiceUnavailable, "message", c.page(r, nil, map[string]any{"Message": c.t["login.e.telegram"]}))
				return
			}
			if len(groups) == 0 {
				_ = c.o.Sessions.Delete(r.Context(), ck.Value)
				c.audit(r.Context(), AuditEntry{Who: s.User, What: auditRemoved})
				c.clearCookie(w)
				c.toLogin(w, r, "removed")
				return
			}
			s.Groups, s.Checked = groups, now
			if err := c.o.Sessions.Put(r.Context(), ck.Value, *s); err != nil {
				c.fail(w, "renew session", err)
				return
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, current{id: ck.Value, s: s})))
	}
}

// memberOf lists the staff groups user belongs to now.
func (c *Console) memberOf(ctx context.Context, user int64) ([]int64, error) {
	var out []int64
	for _, g := range c.o.Cases.StaffGroups() {
		ok, err := c.o.Members.IsMember(ctx, g, user)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, g)
		}
	}
	return out, nil
}

func (c *Console) toLogin(w http.ResponseWriter, r *http.Request, reason string) {
	u := c.base + "/login"
	if reason != "" {
		u += "?e=" + reason
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func (c *Console) setCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{Name: c.cookie, Value: id, Path: c.base + "/", MaxAge: int(c.o.SessionLifetime.Seconds()),
		Secure: !c.o.InsecureCookie, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.cookie, Value: "", Path: c.base + "/", MaxAge: -1,
		Secure: !c.o.InsecureCookie, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// serveLogin shows the Telegram Login widget.
func (c *Console) serveLogin(w http.ResponseWriter, r *http.Request) {
	msg := ""
	if e := r.URL.Query().Get("e"); e != "" {
		msg = c.t["login.e."+e]
	}
	if r.URL.Query().Has("out") {
		msg = c.t["login.signed_out"]
	}
	c.render(w, http.StatusOK, "login", c.page(r, nil, map[string]any{"Error": msg, "Bot": c.o.BotUsername(),
		"AuthURL": c.authURL}))
}

// serveAuth is where the widget sends the signed login data.
func (c *Console) serveAuth(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := c.now()
	allowed, err := c.o.Sessions.AllowSignIn(ctx, c.proxies.clientIP(r).String(), now, c.o.SignInEvery, c.o.SignInBurst)
	if err != nil {
		c.fail(w, "sign-in limit", err) // Redis is down: nobody could sign in anyway
		return
	}
	if !allowed {
		c.render(w, http.StatusTooManyRequests, "login", c.page(r, nil, map[string]any{"Error": c.t["login.e.limit"],
			"Bot": c.o.BotUsername(), "AuthURL": c.authURL}))
		return
	}
	refuse := func(status int, reason string) {
		c.render(w, status, "login", c.page(r, nil, map[string]any{"Error": c.t["login.e."+reason],
			"Bot": c.o.BotUsername(), "AuthURL": c.authURL}))
	}
	login, err := VerifyLogin(r.URL.Query(), c.o.BotToken, now, c.o.LoginMaxAge)
	switch {
	case errors.Is(err, ErrLoginExpired), errors.Is(err, ErrLoginFuture):
		refuse(http.StatusUnauthorized, "expired")
		return
	case errors.Is(err, ErrLoginMissing):
		refuse(http.StatusUnauthorized, "missing")
		return
	case err != nil:
		c.log.Warn("console sign-in with forged login data refused")
		refuse(http.StatusUnauthorized, "forged")
		return
	}
	fresh, err := c.o.Sessions.UseLogin(ctx, login.Hash, c.o.LoginMaxAge+allowedSkew)
	if err != nil {
		c.fail(w, "mark login used", err)
		return
	}
	if !fresh {
		refuse(http.StatusUnauthorized, "expired")
		return
	}
	groups, err := c.memberOf(ctx, login.ID)
	if err != nil {
		c.log.Warn("could not check a console sign-in's staff groups", "err", err)
		refuse(http.StatusServiceUnavailable, "telegram")
		return
	}
	if len(groups) == 0 {
		c.audit(ctx, AuditEntry{Who: login.ID, What: auditRefused})
		refuse(http.StatusForbidden, "member")
		return
	}
	id := newToken()
	s := Session{User: login.ID, Name: login.FirstName, CSRF: newToken(), Groups: groups, Created: now, Checked: now,
		Expires: now.Add(c.o.SessionLifetime)}
	if err := c.o.Sessions.Put(ctx, id, s); err != nil {
		c.fail(w, "store session", err)
		return
	}
	c.audit(ctx, AuditEntry{Who: login.ID, What: auditSignIn})
	c.setCookie(w, id)
	// A page of our own leads on, not a redirect: the widget's navigation
	// came from telegram.org, and a SameSite=Strict cookie is only sent on
	// a navigation our own site starts.
	c.render(w, http.StatusOK, "signedin", c.page(r, nil, map[string]any{"Next": c.base + "/"}))
}

func (c *Console) serveLogout(w http.ResponseWriter, r *http.Request) {
	cur := sessionOf(r)
	if err := c.o.Sessions.Delete(r.Context(), cur.id); err != nil {
		c.fail(w, "delete session", err)
		return
	}
	c.audit(r.Context(), AuditEntry{Who: cur.s.User, What: auditSignOut})
	c.clearCookie(w)
	http.Redirect(w, r, c.base+"/login?out", http.StatusSeeOther)
}

// audit writes an entry; a failure is logged (the action itself stands).
func (c *Console) audit(ctx context.Context, e AuditEntry) {
	if e.At.IsZero() {
		e.At = c.now().UTC()
	}
	if err := c.o.Audit.Write(ctx, e); err != nil {
		c.log.Error("could not write the console's audit log", "what", e.What, "err", err)
	}
}

func (c *Console) fail(w http.ResponseWriter, what string, err error) {
	c.log.Error("console: "+what, "err", err)
	http.Error(w, c.t["error"], http.StatusInternalServerError)
}

// visible reports whether the session's staff groups include group.
func visible(s *Session, group int64) bool { return slices.Contains(s.Groups, group) }
