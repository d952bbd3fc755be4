package referral

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/promtest"
)

// verify is the receiver's check, as documented in README ("Referral
// webhooks"): recompute the HMAC over "<t>.<raw body>", compare in constant
// time, refuse stale timestamps.
func verify(secret []byte, header string, body []byte, now time.Time) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("malformed signature header")
	}
	if d := now.Sub(time.Unix(t, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("stale timestamp")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errors.New("bad signature")
	}
	return nil
}

type receiver struct {
	mu       sync.Mutex
	failNext int
	events   []HookEvent
	bad      int
	attempts int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if err := verify([]byte("hook-secret"), req.Header.Get(SignatureHeader), body, time.Now()); err != nil {
		r.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.failNext > 0 {
		r.failNext--
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	var ev HookEvent
	if err := json.Unmarshal(body, &ev); err != nil || req.Header.Get("X-Putokaz-Event") != ev.Event ||
		req.Header.Get("X-Putokaz-Delivery") != ev.ID {
		r.bad++
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	for _, seen := range r.events {
		if seen.ID == ev.ID {
			return // a retry of something already processed: the ID deduplicates
		}
	}
	r.events = append(r.events, ev)
}

func (r *receiver) got() []HookEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]HookEvent(nil), r.events...)
}

func TestSignedWebhooks(t *testing.T) {
	rec := &receiver{failNext: 2}
	hs := httptest.NewServer(rec)
	t.Cleanup(hs.Close)
	cfg := testConfig()
	cfg.Queues["svc"] = Queue{Group: groupA, WebhookURL: hs.URL + "/cases", WebhookSecret: "hook-secret"}
	e := newEnv(t, envOpts{cfg: &cfg})

	e.referDirect("tg:801", "svc", "PK-W2B3")
	_, cardID := e.card("PK-W2B3")
	if out, err := e.svc.Claim(t.Context(), "PK-W2B3", "tg:9001"); err != nil || out != Done {
		t.Fatalf("claim: %v %v", out, err)
	}
	if out, err := e.svc.Reply(t.Context(), "PK-W2B3", "tg:9001", Reply{Text: "We call you at 10."}); err != nil || out != Done {
		t.Fatalf("reply: %v %v", out, err)
	}
	e.staffTap(groupA, cardID, staffA, "x:PK-W2B3")
	polltest.Until(t, 10*time.Second, "four events", func() bool { return len(rec.got()) >= 4 })
	evs := rec.got()
	var names []string
	for _, ev := range evs {
		names = append(names, ev.Event)
	}
	if strings.Join(names, ",") != "created,claimed,message,closed" {
		t.Fatalf("events = %v", names)
	}
	c := evs[0]
	if c.Code != "PK-W2B3" || c.Service != "svc" || c.Kind != KindReferral || c.Referral == nil ||
		c.Referral.Answers["town"] != "Town of PK-W2B3" || c.Referral.ConsentVersion != "en:test" || c.At.IsZero() {
		t.Errorf("created = %+v", c)
	}
	if m := evs[2].Message; m == nil || m.Direction != "to_person" || m.Text != "We call you at 10." {
		t.Errorf("message = %+v", evs[2].Message)
	}
	if evs[3].Status != StatusClosed {
		t.Errorf("closed event status = %q", evs[3].Status)
	}
	if rec.bad != 0 {
		t.Errorf("%d requests failed verification", rec.bad)
	}
	if got := promtest.Sum(e.svc.m.retried.WithLabelValues("hook:svc", evCreated)); got != 2 {
		t.Errorf("retried = %v, want 2 (the receiver failed twice)", got)
	}

	// Withdrawn: the event says so and carries nothing personal.
	e.referDirect("tg:802", "svc", "PK-W4C5")
	if err := e.svc.Erase(t.Context(), "tg:802"); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 10*time.Second, "withdrawn", func() bool { return len(rec.got()) >= 6 })
	evs = rec.got()
	if evs[5].Event != evWithdrawn || evs[5].Code != "PK-W4C5" || evs[5].Referral != nil {
		t.Errorf("withdrawn = %+v", evs[5])
	}
}

func TestWebhookDeadLetter(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	t.Cleanup(down.Close)
	cfg := testConfig()
	cfg.WebhookAttempts = 3
	cfg.Queues["svc"] = Queue{Group: groupA, WebhookURL: down.URL, WebhookSecret: "hook-secret"}
	e := newEnv(t, envOpts{cfg: &cfg})
	e.referDirect("tg:803", "svc", "PK-W6D7")
	e.card("PK-W6D7") // Telegram delivery goes on regardless
	polltest.Until(t, 10*time.Second, "the dead letter", func() bool { return promtest.Sum(e.svc.m.dead) == 1 })
	dead := e.rdb.XRange(t.Context(), e.k.Referral().Dead("hook:svc"), "-", "+").Val()
	if len(dead) != 1 || dead[0].Values["reason"] != "webhook HTTP 502" {
		t.Fatalf("dead = %+v", dead)
	}
}

func TestSignKnownVector(t *testing.T) {
	// The README's example: secret "s3cret", t=1767225600, body {"id":"1"}.
	got := Sign([]byte("s3cret"), time.Unix(1767225600, 0), []byte(`{"id":"1"}`))
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(`1767225600.{"id":"1"}`))
	if want := "t=1767225600,v1=" + hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}
