package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/announce"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/testkit/testlog"
)

// fakeSubs is a subscription store in memory (the real one is
// internal/subscribe): user -> topic -> lang.
type fakeSubs struct {
	mu   sync.Mutex
	subs map[string]map[string]string
}

func (f *fakeSubs) list(topic, lang string) []string {
	var out []string
	for u, ts := range f.subs {
		if ts[topic] == lang {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeSubs) Count(_ context.Context, topic, lang string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.list(topic, lang)), nil
}

func (f *fakeSubs) Page(_ context.Context, topic, lang, cursor string, n int) ([]string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := f.list(topic, lang)
	from, _ := strconv.Atoi(cursor)
	to := min(from+n, len(all))
	if to < len(all) {
		return all[from:to], strconv.Itoa(to), nil
	}
	return all[from:to], "", nil
}

func (f *fakeSubs) Remove(_ context.Context, user, topic string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if topic == "" {
		delete(f.subs, user)
	} else {
		delete(f.subs[user], topic)
	}
	return nil
}

// withSubs makes the commands and serve use subs for this test.
func withSubs(t *testing.T, subs announce.Subscribers) {
	old := subscriptions
	subscriptions = func(redis.UniversalClient, keys.Keys) announce.Subscribers { return subs }
	t.Cleanup(func() { subscriptions = old })
}

const updateFile = `id: shelter-closed
topics: [shelter]
expires: %s
text:
  en: "The centre in Obrenovac is closed until 15 December. Call +381 11 123 4567"
  sr-Cyrl: "Центар у Обреновцу је затворен до 15. децембра. Позовите +381 11 123 4567"
  ar: "المركز في أوبرينوفاتس مغلق حتى 15 ديسمبر. اتصل بالرقم ⁦+381 11 123 4567⁩"
  fa: "مرکز اوبرنواتس تا 15 دسامبر بسته است. به ⁦+381 11 123 4567⁩ زنگ بزنید"
`

func writeUpdate(t *testing.T, expires time.Time) string {
	path := filepath.Join(t.TempDir(), "shelter-closed.yaml")
	body := strings.Replace(updateFile, "%s", expires.Format(time.RFC3339), 1)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs putokaz with vars as the environment.
func runWith(t *testing.T, vars map[string]string, args ...string) (code int, out, errOut string) {
	t.Helper()
	o, e := &testlog.Buffer{}, &testlog.Buffer{}
	env := Env{Stdin: strings.NewReader(""), Stdout: o, Stderr: e, Getenv: func(k string) string { return vars[k] }}
	code = Main(t.Context(), args, env)
	return code, o.String(), e.String()
}

func TestAnnounceCommands(t *testing.T) {
	_, k := redistest.New(t)
	subs := &fakeSubs{subs: map[string]map[string]string{
		"tg:1": {"shelter": "en"}, "tg:2": {"shelter": "ar"}, "tg:3": {"shelter": "ar", "asylum": "fa"}, "tg:4": {"asylum": "en"},
	}}
	withSubs(t, subs)
	vars := map[string]string{"REDIS_URL": redistestURL(), "REDIS_KEY_PREFIX": k.Prefix()}
	file := writeUpdate(t, time.Now().Add(48*time.Hour))

	code, out, errOut := runWith(t, vars, "announce", file, "--dry-run")
	if code != 0 || !strings.Contains(out, "update \"shelter-closed\" is fine") || !strings.Contains(out, "  ar       2\n") ||
		!strings.Contains(out, "  in all   3\n") || !strings.Contains(out, "Nothing was queued") || !strings.Contains(out, "/unsubscribe") {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runWith(t, vars, "announce", file); code != 2 || !strings.Contains(errOut, "--by NAME") {
		t.Fatalf("queue without a name: %d %s", code, errOut)
	}
	code, out, errOut = runWith(t, vars, "announce", file, "--by", "Ana")
	if code != 0 || !strings.Contains(out, "queued shelter-closed by Ana. It waits for 1 more editor(s)") {
		t.Fatalf("queue: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runWith(t, vars, "announce", file, "--by", "Marko"); code != 1 || !strings.Contains(errOut, "already queued") {
		t.Fatalf("queue again: %d %s", code, errOut)
	}
	if code, _, errOut := runWith(t, vars, "announce", "approve", "shelter-closed", "--by", "ana"); code != 1 ||
		!strings.Contains(errOut, "the same name cannot queue and approve") {
		t.Fatalf("approve by the same editor: %d %s", code, errOut)
	}
	code, out, _ = runWith(t, vars, "announce", "status", "shelter-closed")
	if code != 0 || !strings.Contains(out, "shelter-closed: pending (1 of 2 approvals)") || strings.Contains(out, "█") {
		t.Fatalf("status: %d\n%s", code, out)
	}
	code, out, errOut = runWith(t, vars, "announce", "approve", "shelter-closed", "--by", "Marko")
	if code != 0 || !strings.Contains(out, "approved by Ana, Marko") {
		t.Fatalf("approve: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := runWith(t, vars, "announce", "pause", "shelter-closed"); code != 0 || !strings.Contains(out, "paused shelter-closed") {
		t.Fatalf("pause: %d %s", code, out)
	}
	code, out, _ = runWith(t, vars, "announce", "list")
	if code != 0 || !strings.Contains(out, "shelter-closed") || !strings.Contains(out, "approved, paused") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if code, out, _ := runWith(t, vars, "announce", "cancel", "shelter-closed"); code != 0 || !strings.Contains(out, "cancelled shelter-closed") {
		t.Fatalf("cancel: %d %s", code, out)
	}
	if code, _, errOut := runWith(t, vars, "announce", "resume", "shelter-closed"); code != 1 || !strings.Contains(errOut, "already ended") {
		t.Fatalf("resume after cancel: %d %s", code, errOut)
	}
	if code, _, errOut := runWith(t, vars, "announce", "approve", "nope", "--by", "X"); code != 1 || !strings.Contains(errOut, "no update with that id") {
		t.Fatalf("unknown id: %d %s", code, errOut)
	}
	if code, _, errOut := runWith(t, map[string]string{}, "announce", "list"); code != 1 || !strings.Contains(errOut, "REDIS_URL") {
		t.Fatalf("without Redis: %d %s", code, errOut)
	}
}

func TestCheckUpdateFiles(t *testing.T) {
	good := writeUpdate(t, time.Now().Add(48*time.Hour))
	code, out, _ := runWith(t, nil, "check", good)
	if code != 0 || !strings.Contains(out, "0 errors, 0 warnings in 1 update file(s)") {
		t.Fatalf("check FILE: %d\n%s", code, out)
	}
	data, _ := os.ReadFile(good)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(data), "до 15. децембра", "до 16. децембра", 1)), 0o644)
	code, out, _ = runWith(t, nil, "check", bad)
	if code != 1 || !strings.Contains(out, bad+":6:12: the text in sr-Cyrl does not match English: it lacks the number 15; it has the number 16") {
		t.Fatalf("check of a bad file: %d\n%s", code, out)
	}
	code, out, errOut := runWith(t, nil, "announce", bad, "--by", "Ana")
	if code != 1 || !strings.Contains(errOut, "has problems (above); nothing was queued") || !strings.Contains(out, "sr-Cyrl does not match") {
		t.Fatalf("queue of a bad file: %d\n%s\n%s", code, out, errOut)
	}
}

// TestServeSendsApprovedUpdate: `putokaz serve` against the fake Bot API
// sends an approved update to every subscriber once, in their language,
// waiting out a 429's retry_after; a person who blocked the bot is counted
// and unsubscribed.
func TestServeSendsApprovedUpdate(t *testing.T) {
	subs := &fakeSubs{subs: map[string]map[string]string{}}
	for i := range 40 {
		subs.subs["tg:"+strconv.Itoa(7000+i)] = map[string]string{"shelter": []string{"en", "sr-Latn", "ar", "fa"}[i%4]}
	}
	withSubs(t, subs)
	_, k := redistest.New(t)
	b := serveForTest(t, map[string]string{"ANNOUNCE_APPROVALS": "1", "TELEGRAM_RATE_LIMITS": "off", "REDIS_KEY_PREFIX": k.Prefix()})
	b.api.Forbidden(1, 7005)
	b.api.TooManyRequests(2, 1, 7010) // retry_after 1 s, twice: late, once
	vars := map[string]string{"REDIS_URL": redistestURL(), "REDIS_KEY_PREFIX": k.Prefix(), "ANNOUNCE_APPROVALS": "1"}
	file := writeUpdate(t, time.Now().Add(48*time.Hour))
	if code, out, errOut := runWith(t, vars, "announce", file, "--by", "Ana"); code != 0 {
		t.Fatalf("queue: %d\n%s\n%s", code, out, errOut)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, out, _ := runWith(t, vars, "announce", "status", "shelter-closed")
		if strings.Contains(out, "shelter-closed: done") || time.Now().After(deadline) {
			if !strings.Contains(out, "sent 39, left 0, blocked 1, failed 0, unknown 0") {
				t.Fatalf("status:\n%s\n%s", out, b.errOut.String())
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	sends := b.api.Delivered("sendMessage")
	per := map[int64]int{}
	for _, c := range sends {
		per[c.ChatID]++
		want := map[int]string{0: "Update:", 1: "Novo obaveštenje:", 2: "تحديث:", 3: "خبر تازه:"}[int(c.ChatID-7000)%4]
		if txt := c.Str("text"); !strings.Contains(txt, want) || !strings.Contains(txt, "/unsubscribe") || c.Str("parse_mode") != "HTML" {
			t.Fatalf("chat %d got %q", c.ChatID, txt)
		}
	}
	if len(per) != 39 || per[7005] != 0 || per[7010] != 1 {
		t.Fatalf("%d chats received it (%v); want 39, not the one who blocked the bot", len(per), per)
	}
	for chat, n := range per {
		if n != 1 {
			t.Fatalf("chat %d received it %d times", chat, n)
		}
	}
	if _, ok := subs.subs["tg:7005"]; ok {
		t.Fatal("the person who blocked the bot is still subscribed")
	}
	if logs := b.errOut.String(); testlog.Names(logs, "7005") || testlog.Names(logs, "Obrenovac") {
		t.Fatalf("logs name a chat or the text:\n%s", logs)
	}
}

type recordEffects struct{ got []engine.EffectKind }

func (r *recordEffects) Apply(_ context.Context, _, _ string, fx engine.Effect) error {
	r.got = append(r.got, fx.Kind)
	return nil
}

// TestEraseForgetsInUpdates: /delete (and stopping every update) goes through the queue of updates
// before the rest of the erasure; if that fails, the erasure is retried
// (nothing else happens first).
func TestEraseForgetsInUpdates(t *testing.T) {
	rdb, k := redistest.New(t)
	next := &recordEffects{}
	h := forgetInUpdates(next, announce.NewQueue(rdb, k, 2))
	if err := h.Apply(t.Context(), "tg:1", "en", engine.Effect{Kind: engine.EffectErase}); err != nil || len(next.got) != 1 {
		t.Fatalf("erase: %v, next saw %v", err, next.got)
	}
	broken := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer broken.Close()
	h = forgetInUpdates(next, announce.NewQueue(broken, k, 2))
	if err := h.Apply(t.Context(), "tg:1", "en", engine.Effect{Kind: engine.EffectErase}); err == nil || len(next.got) != 1 {
		t.Fatalf("erase with Redis down: %v, next saw %v; want an error before anything else", err, next.got)
	}
	// Stopping every update (the quick exit, "stop all") leaves the sends in
	// progress too; stopping one topic does not touch them.
	if err := h.Apply(t.Context(), "tg:1", "en", engine.Effect{Kind: engine.EffectUnsubscribe}); err == nil || len(next.got) != 1 {
		t.Fatalf("stop all with Redis down: %v, next saw %v; want the queue asked first", err, next.got)
	}
	if err := h.Apply(t.Context(), "tg:1", "en", engine.Effect{Kind: engine.EffectUnsubscribe, Flow: "shelter"}); err != nil || len(next.got) != 2 {
		t.Fatalf("stop one topic: %v, next saw %v; want it passed on without the queue", err, next.got)
	}
	if forgetInUpdates(next, nil) != conversation.EffectHandler(next) {
		t.Fatal("without Redis the handler is not the next one")
	}
}

func TestWriteStatus(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	st := announce.Status{ID: "u1", State: announce.StateSending, Topics: []string{"shelter"}, Langs: []string{"ar", "en"},
		Expires: now.Add(26 * time.Hour), Created: now.Add(-time.Hour), QueuedBy: "Ana", Approvers: []string{"Ana", "Marko"},
		Needed: 2, Total: 1000, Position: 450, Sent: 440, Blocked: 6, Failed: 1, Unknown: 3, Rate: 29.5}
	var bar, plain strings.Builder
	writeStatus(&bar, st, true, now)
	writeStatus(&plain, st, false, now)
	for _, want := range []string{"u1: sending\n", "]  45%  450 of 1000\n", "sent 440, left 550, blocked 6, failed 1, unknown 3, withdrawn 0\n",
		"rate 29.5/s, about 19s left\n", "expires 2026-12-03 14:00 +00:00 (in 1d 2h)\n", "approved by Ana, Marko\n"} {
		if !strings.Contains(bar.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, bar.String())
		}
	}
	if !strings.Contains(bar.String(), "█████████████░") || strings.Contains(plain.String(), "█") ||
		!strings.Contains(plain.String(), "progress: 45% (450 of 1000)\n") {
		t.Errorf("bar:\n%s\nplain:\n%s", bar.String(), plain.String())
	}
}
