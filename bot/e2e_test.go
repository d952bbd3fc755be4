package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"putokaz/internal/engine"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/testkit/testlog"
)

// End-to-end: real HTTP to the server's handler, real Redis, the fake Bot
// API recording what reached "Telegram".

func TestE2EWebhookTextReply(t *testing.T) {
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv})
	code, body := e.post(textUpdate(1, 501, "Zdravo <svete> & dobro jutro"))
	if code != http.StatusOK || body != "" {
		t.Fatalf("webhook = %d %q", code, body)
	}
	sent := e.api.Delivered("sendMessage")
	if len(sent) != 1 {
		t.Fatalf("sendMessage calls = %d", len(sent))
	}
	c := sent[0]
	if c.ChatID != 501 || c.Str("parse_mode") != "HTML" || c.Str("text") != "echo text:Zdravo &lt;svete&gt; &amp; dobro jutro" {
		t.Errorf("sent %+v", c.Params)
	}
	var kb inlineKeyboardMarkup
	if err := c.Decode("reply_markup", &kb); err != nil || len(kb.InlineKeyboard) != 1 || len(kb.InlineKeyboard[0]) != 2 {
		t.Errorf("keyboard = %s", c.Params["reply_markup"])
	}
	calls := conv.Calls()
	if len(calls) != 1 || calls[0].user != "tg:501" || calls[0].in.LangHint != "sr" {
		t.Errorf("conversation calls = %+v", calls)
	}
	if testlog.Names(e.logBuf.String(), "Zdravo") || testlog.Names(e.logBuf.String(), "501") {
		t.Errorf("logs contain message text or a raw chat id:\n%s", e.logBuf.String())
	}
	if got := e.updates("message", "handled"); got != 1 {
		t.Errorf("updates{message,handled} = %v", got)
	}
}

func TestE2EWrongSecret(t *testing.T) {
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv})
	for _, secret := range []string{"", "wrong", testSecret + "x", testSecret[:5]} {
		code, _ := postWebhook(t, e.http.URL+"/telegram/hook", secret, textUpdate(1, 501, "hi"))
		if code != http.StatusUnauthorized {
			t.Errorf("secret %q: status %d, want 401", secret, code)
		}
	}
	if n := len(conv.Calls()); n != 0 {
		t.Errorf("conversation called %d times", n)
	}
	if n := len(e.api.Calls()); n != 0 {
		t.Errorf("bot API called %d times", n)
	}
	// Nothing was recorded either: the right secret now handles update 1.
	if code, _ := e.post(textUpdate(1, 501, "hi")); code != 200 || len(conv.Calls()) != 1 {
		t.Errorf("after rejections: %d, %d calls", code, len(conv.Calls()))
	}
	if got := e.counter(e.srv.m.webhookRejected.WithLabelValues("unauthorized")); got != 4 {
		t.Errorf("rejected{unauthorized} = %v", got)
	}
	// Other paths are not the webhook.
	resp, err := http.Post(e.http.URL+"/other", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /other = %d", resp.StatusCode)
	}
}

func TestE2EBadBodies(t *testing.T) {
	conv := &echoConv{}
	lim := testLimits()
	lim.MaxBodyBytes = 2048
	e := newEnv(t, envOpts{conv: conv, limits: &lim})
	for name, body := range map[string]string{
		"not json":      "{not json",
		"no update_id":  `{"message":{"text":"x"}}`,
		"too large":     `{"update_id":5,"message":{"text":"` + strings.Repeat("a", 3000) + `"}}`,
		"empty":         "",
		"array":         "[1,2]",
		"update_id str": `{"update_id":"x"}`,
	} {
		if code, _ := e.post(body); code != http.StatusOK {
			t.Errorf("%s: status %d, want 200 (a retry could not fix it)", name, code)
		}
	}
	if n := len(conv.Calls()); n != 0 {
		t.Errorf("conversation called %d times", n)
	}
	// GET on the webhook path is refused.
	resp, _ := http.Get(e.http.URL + "/telegram/hook")
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET webhook = %d", resp.StatusCode)
	}
}

func TestE2EDuplicateUpdateHandledOnce(t *testing.T) {
	conv := newRecordingConv(30 * time.Millisecond)
	e := newEnv(t, envOpts{conv: conv})
	// Sequential re-delivery.
	for range 2 {
		if code, _ := e.post(textUpdate(10, 600, "once")); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	// Concurrent deliveries of one update.
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() { codes[i], _ = e.post(textUpdate(11, 600, "concurrent")) })
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("delivery %d: status %d", i, c)
		}
	}
	if got := conv.total.Load(); got != 2 {
		t.Errorf("conversation ran %d times, want 2 (updates 10 and 11 once each)", got)
	}
	if got := len(e.api.Delivered("sendMessage")); got != 2 {
		t.Errorf("replies = %d, want 2", got)
	}
	if got := e.counter(e.srv.m.dedupeHits); got != 8 {
		t.Errorf("dedupe hits = %v, want 8", got)
	}
}

// TestE2ETwoServersPerChatOrder runs two servers (two "replicas") on one
// Redis and fires interleaved updates for a few chats at both at once: no two
// updates of one chat may overlap, and each runs exactly once.
func TestE2ETwoServersPerChatOrder(t *testing.T) {
	conv := newRecordingConv(10 * time.Millisecond)
	api := botapitest.New(t)
	rdb, k := redistest.New(t)
	a := newEnv(t, envOpts{conv: conv, api: api, rdb: rdb, keys: &k})
	b := newEnv(t, envOpts{conv: conv, api: api, rdb: rdb, keys: &k})
	const chats, perChat = 5, 20
	type delivery struct {
		id   int64
		chat int64
		text string
	}
	var all []delivery
	id := int64(1000)
	for i := range perChat {
		for c := range chats {
			id++
			all = append(all, delivery{id, int64(700 + c), fmt.Sprintf("m%d", i)})
		}
	}
	var wg sync.WaitGroup
	var failed sync.Map
	for i, d := range all {
		// Every update goes to one server, a third of them also to the
		// other (Telegram re-sending after a timeout).
		targets := []*testEnv{a}
		if i%2 == 1 {
			targets[0] = b
		}
		if i%3 == 0 {
			targets = append(targets, a, b)
		}
		for _, env := range targets {
			wg.Go(func() {
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				for attempt := 0; ; attempt++ {
					code, _ := env.post(textUpdate(d.id, d.chat, d.text))
					if code == 200 {
						return
					}
					if attempt > 20 {
						failed.Store(d.id, code)
						return
					}
					time.Sleep(20 * time.Millisecond) // Telegram re-sends after a 503
				}
			})
		}
	}
	wg.Wait()
	failed.Range(func(k, v any) bool { t.Errorf("update %v never answered 200 (last %v)", k, v); return true })
	conv.mu.Lock()
	defer conv.mu.Unlock()
	if conv.overlaps != 0 {
		t.Errorf("%d overlapping handlings of one chat", conv.overlaps)
	}
	if got := conv.total.Load(); got != chats*perChat {
		t.Errorf("handled %d times, want %d (exactly once each)", got, chats*perChat)
	}
	for c := range chats {
		user := fmt.Sprintf("tg:%d", 700+c)
		if n := len(conv.seen[user]); n != perChat {
			t.Errorf("%s handled %d updates, want %d", user, n, perChat)
		}
	}
	if got := len(api.Delivered("sendMessage")); got != chats*perChat {
		t.Errorf("replies = %d, want %d", got, chats*perChat)
	}
	// The test means something only if the servers really competed.
	if w := a.counter(a.srv.m.leaseWaits) + b.counter(b.srv.m.leaseWaits); w == 0 {
		t.Error("no lease waits: the two servers never competed for a chat")
	}
	if d := a.counter(a.srv.m.dedupeHits) + b.counter(b.srv.m.dedupeHits); d == 0 {
		t.Error("no duplicates were delivered")
	}
}

func TestE2E429RetryAfter(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.api.TooManyRequests(1, 1, 801)
	start := time.Now()
	if code, _ := e.post(textUpdate(1, 801, "hi")); code != 200 {
		t.Fatalf("status %d", code)
	}
	elapsed := time.Since(start)
	sent := e.api.CallsTo("sendMessage")
	if len(sent) != 2 || sent[0].Status != 429 || !sent[1].OK {
		t.Fatalf("calls = %+v", sent)
	}
	if gap := sent[1].Time.Sub(sent[0].Time); gap < 900*time.Millisecond || elapsed < 900*time.Millisecond {
		t.Errorf("retried after %v (request took %v), want ≥ retry_after 1s", gap, elapsed)
	}
	if got := e.apiCalls("sendMessage", resRetryAfter); got != 1 {
		t.Errorf("retry_after count = %v", got)
	}
}

func TestE2EServerErrorThenSuccess(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.api.ServerError(2, 502, 0)
	e.api.Fail(botapitest.Fault{Method: "sendMessage", Times: 1, Status: 503, NotJSON: true})
	if code, _ := e.post(textUpdate(1, 802, "hi")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got := len(e.api.Delivered("sendMessage")); got != 1 {
		t.Errorf("delivered %d times, want once", got)
	}
	if got := len(e.api.CallsTo("sendMessage")); got != 4 {
		t.Errorf("attempts = %d, want 4", got)
	}
	if got := e.apiCalls("sendMessage", resServerError); got != 3 {
		t.Errorf("server_error count = %v", got)
	}
}

func TestE2EServerErrorsGiveUpThenRedelivery(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.api.ServerError(5, 500, 0) // exhausts APIAttempts
	if code, _ := e.post(textUpdate(1, 803, "hi")); code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", code)
	}
	if got := e.apiCalls("sendMessage", resGaveUp); got != 1 {
		t.Errorf("gave_up = %v", got)
	}
	// Telegram re-sends: the stored reply is sent, without asking the
	// conversation again.
	conv := e.srv.d.conv.(*echoConv)
	if code, _ := e.post(textUpdate(1, 803, "hi")); code != 200 {
		t.Fatalf("re-delivery status %d", code)
	}
	if got := len(conv.Calls()); got != 1 {
		t.Errorf("conversation ran %d times, want 1", got)
	}
	if got := len(e.api.Delivered("sendMessage")); got != 1 {
		t.Errorf("delivered %d, want 1", got)
	}
}

func TestE2EForbiddenMarksInactive(t *testing.T) {
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv})
	e.api.Forbidden(1, 804)
	if code, _ := e.post(textUpdate(1, 804, "hi")); code != 200 {
		t.Fatalf("status %d (a blocked person is not a reason to retry)", code)
	}
	if inactive, err := e.srv.d.inactive.IsInactive(t.Context(), 804); err != nil || !inactive {
		t.Fatalf("inactive = %v, %v", inactive, err)
	}
	// Sends outside an update (staff relay) stop.
	before := len(e.api.CallsTo("sendMessage"))
	err := e.sender.Send(t.Context(), 804, 0, engine.Message{Text: "staff says hi"})
	if err != ErrInactive {
		t.Errorf("Send to inactive = %v", err)
	}
	if got := len(e.api.CallsTo("sendMessage")); got != before {
		t.Errorf("sent to an inactive chat")
	}
	// They write again: active, and the reply arrives.
	if code, _ := e.post(textUpdate(2, 804, "back")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if inactive, _ := e.srv.d.inactive.IsInactive(t.Context(), 804); inactive {
		t.Error("still inactive after writing")
	}
	if got := len(e.api.Delivered("sendMessage")); got != 1 {
		t.Errorf("delivered %d", got)
	}
	if err := e.sender.Send(t.Context(), 804, 0, engine.Message{Text: "staff says hi"}); err != nil {
		t.Errorf("Send after reactivation: %v", err)
	}
	if got := e.counter(e.srv.m.inactiveMarked); got != 1 {
		t.Errorf("inactive marked = %v", got)
	}
}

func TestE2EMyChatMember(t *testing.T) {
	e := newEnv(t, envOpts{})
	member := func(id int64, status string) string {
		return fmt.Sprintf(`{"update_id":%d,"my_chat_member":{"chat":%s,"from":%s,"date":1767225600,`+
			`"old_chat_member":{"status":"member","user":{"id":123456,"is_bot":true,"first_name":"Putokaz"}},`+
			`"new_chat_member":{"status":%q,"user":{"id":123456,"is_bot":true,"first_name":"Putokaz"},"until_date":0}}}`,
			id, privateChat(805), fromUser(805, "en"), status)
	}
	if code, _ := e.post(member(1, "kicked")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if inactive, _ := e.srv.d.inactive.IsInactive(t.Context(), 805); !inactive {
		t.Fatal("not inactive after kicked")
	}
	if code, _ := e.post(member(2, "member")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if inactive, _ := e.srv.d.inactive.IsInactive(t.Context(), 805); inactive {
		t.Fatal("still inactive after member")
	}
	if n := len(e.api.Calls()); n != 0 {
		t.Errorf("bot API calls = %d, want none", n)
	}
}

// TestE2EBlockedHook: a person who blocks the bot is reported to the hook
// once (by their key) under their update; a failing hook makes the update
// be delivered again rather than lost.
func TestE2EBlockedHook(t *testing.T) {
	var got []string
	fail := true
	e := newEnv(t, envOpts{blocked: func(_ context.Context, user string) error {
		if fail {
			fail = false
			return errors.New("store down")
		}
		got = append(got, user)
		return nil
	}})
	kicked := fmt.Sprintf(`{"update_id":1,"my_chat_member":{"chat":%s,"from":%s,"date":1767225600,`+
		`"old_chat_member":{"status":"member","user":{"id":123456,"is_bot":true,"first_name":"Putokaz"}},`+
		`"new_chat_member":{"status":"kicked","user":{"id":123456,"is_bot":true,"first_name":"Putokaz"},"until_date":0}}}`,
		privateChat(807), fromUser(807, "en"))
	if code, _ := e.post(kicked); code == 200 {
		t.Fatal("a failed hook was acknowledged: Telegram would not deliver the update again")
	}
	if code, _ := e.post(kicked); code != 200 {
		t.Fatalf("redelivery: status %d", code)
	}
	if len(got) != 1 || got[0] != "tg:807" {
		t.Errorf("hook got %v, want [tg:807]", got)
	}
}

func TestE2EPanicPoliteReply(t *testing.T) {
	conv := funcConv(func(_ context.Context, _ string, in engine.Input) ([]engine.Message, error) {
		if in.Text == "boom" {
			panic("conversation bug")
		}
		return reply("fine"), nil
	})
	// The apology is the content's, as in the app.
	e := newEnv(t, envOpts{conv: conv, commands: contentTexts{t: t, c: builtinContent(t)}})
	if code, _ := e.post(textUpdate(1, 806, "boom")); code != 200 {
		t.Fatalf("status %d", code)
	}
	sent := e.api.Delivered("sendMessage")
	if len(sent) != 1 || !strings.HasPrefix(sent[0].Str("text"), "Извините") {
		t.Fatalf("polite reply = %+v", sent)
	}
	if got := e.counter(e.srv.m.panics); got != 1 {
		t.Errorf("panics = %v", got)
	}
	if !strings.Contains(e.logBuf.String(), "conversation bug") || !strings.Contains(e.logBuf.String(), "goroutine") {
		t.Error("panic not logged with its stack")
	}
	// The process is alive and the chat is not stuck.
	if code, _ := e.post(textUpdate(2, 806, "next")); code != 200 || len(e.api.Delivered("sendMessage")) != 2 {
		t.Errorf("after panic: %d", code)
	}
}

func TestE2EPoisonUpdate(t *testing.T) {
	var calls int
	var mu sync.Mutex
	conv := funcConv(func(context.Context, string, engine.Input) ([]engine.Message, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return nil, errTransient
	})
	e := newEnv(t, envOpts{conv: conv}) // UpdateAttempts = 3
	for i := 1; i <= 3; i++ {
		if code, _ := e.post(textUpdate(1, 807, "secret-text-xyz")); code != http.StatusInternalServerError {
			t.Fatalf("attempt %d: status %d, want 500", i, code)
		}
	}
	if code, _ := e.post(textUpdate(1, 807, "secret-text-xyz")); code != 200 {
		t.Fatalf("after 3 failures: status %d, want 200", code)
	}
	if code, _ := e.post(textUpdate(1, 807, "secret-text-xyz")); code != 200 {
		t.Fatalf("later re-delivery: status %d, want 200", code)
	}
	if calls != 3 {
		t.Errorf("conversation ran %d times, want 3", calls)
	}
	if got := e.counter(e.srv.m.poison); got != 1 {
		t.Errorf("poison = %v", got)
	}
	logs := e.logBuf.String()
	if !strings.Contains(logs, `poison update dropped`) || strings.Contains(logs, "secret-text-xyz") {
		t.Errorf("poison log missing or with text:\n%s", logs)
	}
	// The person got an apology, not silence.
	if sent := e.api.Delivered("sendMessage"); len(sent) != 1 {
		t.Errorf("apology messages = %d", len(sent))
	}
	// The chat is not blocked: the next update is handled.
	if code, _ := e.post(textUpdate(2, 807, "next")); code != http.StatusInternalServerError {
		t.Errorf("next update status %d (conversation still fails → 500)", code)
	}
}

func TestE2ECallbackAnsweredInResponse(t *testing.T) {
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv})
	code, body := e.post(callbackUpdate(1, 808, "b:1"))
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var ans map[string]string
	if err := json.Unmarshal([]byte(body), &ans); err != nil || ans["method"] != "answerCallbackQuery" || ans["callback_query_id"] != "cb1" {
		t.Fatalf("body = %q", body)
	}
	if calls := conv.Calls(); len(calls) != 1 || calls[0].in.Kind != engine.InButton || calls[0].in.Data != "b:1" || calls[0].in.LangHint != "ar" {
		t.Errorf("conversation got %+v", calls)
	}
	// A re-delivery answers again (the first answer may have been lost).
	if _, body := e.post(callbackUpdate(1, 808, "b:1")); !strings.Contains(body, "cb1") {
		t.Errorf("duplicate body = %q", body)
	}
	// A callback from an ordinary group is answered and otherwise ignored.
	group := `{"update_id":2,"callback_query":{"id":"cbg","from":` + fromUser(808, "en") +
		`,"message":{"message_id":1,"date":1767225600,"chat":{"id":-100999,"type":"supergroup","title":"x"}},"chat_instance":"1","data":"x"}}`
	if _, body := e.post(group); !strings.Contains(body, "cbg") {
		t.Errorf("group callback body = %q", body)
	}
	// An inaccessible message (date 0) still has the chat.
	old := `{"update_id":3,"callback_query":{"id":"cbo","from":` + fromUser(808, "en") +
		`,"message":{"message_id":1,"date":0,"chat":` + privateChat(808) + `},"chat_instance":"1","data":"old"}}`
	if _, body := e.post(old); !strings.Contains(body, "cbo") {
		t.Errorf("old-message callback body = %q", body)
	}
	if calls := conv.Calls(); len(calls) != 2 || calls[1].in.Data != "old" {
		t.Errorf("conversation calls %+v", calls)
	}
}

func TestE2ECallbackAnsweredOnFailure(t *testing.T) {
	conv := funcConv(func(context.Context, string, engine.Input) ([]engine.Message, error) { return nil, errTransient })
	e := newEnv(t, envOpts{conv: conv})
	for range 3 {
		if code, body := e.post(callbackUpdate(1, 809, "x")); code != 500 || body == "" || strings.Contains(body, "answerCallbackQuery") {
			t.Fatalf("failing attempt: %d %q", code, body)
		}
	}
	// Dropped as poison: answered.
	if _, body := e.post(callbackUpdate(1, 809, "x")); !strings.Contains(body, "answerCallbackQuery") {
		t.Errorf("poison callback not answered: %q", body)
	}
}

func TestE2EGroupMessageIgnored(t *testing.T) {
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv})
	if code, _ := e.post(groupTextUpdate(1, -100123, 810, "hello bot")); code != 200 {
		t.Fatalf("status %d", code)
	}
	channel := `{"update_id":2,"channel_post":{"message_id":1,"date":1767225600,"chat":{"id":-100777,"type":"channel","title":"c"},"text":"news"}}`
	if code, _ := e.post(channel); code != 200 {
		t.Fatalf("status %d", code)
	}
	unknown := `{"update_id":3,"some_future_update":{"x":1}}`
	if code, _ := e.post(unknown); code != 200 {
		t.Fatalf("status %d", code)
	}
	if n := len(conv.Calls()); n != 0 {
		t.Errorf("conversation called %d times", n)
	}
	if n := len(e.api.Calls()); n != 0 {
		t.Errorf("bot API calls = %d", n)
	}
	if e.updates("message", "ignored") != 1 || e.updates("channel_post", "ignored") != 1 || e.updates("unknown", "unsupported") != 1 {
		t.Error("ignored updates not counted by type")
	}
}

type staffRecorder struct {
	mu  sync.Mutex
	ids []int64
}

func (s *staffRecorder) HandleStaff(_ context.Context, u *models.Update) error {
	s.mu.Lock()
	s.ids = append(s.ids, u.ID)
	s.mu.Unlock()
	return nil
}

func TestE2EStaffGroup(t *testing.T) {
	conv := &echoConv{}
	// Without a handler: ignored.
	bare := newEnv(t, envOpts{conv: conv, staff: map[int64]bool{-100555: true}})
	if code, _ := bare.post(groupTextUpdate(1, -100555, 811, "case note")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if bare.updates("message", "ignored") != 1 {
		t.Error("a staff update without a handler was not counted as ignored")
	}
	h := &staffRecorder{}
	e := newEnv(t, envOpts{conv: conv, staff: map[int64]bool{-100555: true}, staffHandler: h})
	if code, _ := e.post(groupTextUpdate(2, -100555, 811, "reply to person")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if code, _ := e.post(groupTextUpdate(2, -100555, 811, "reply to person")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if code, _ := e.post(groupTextUpdate(3, -100666, 811, "not staff")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(h.ids) != 1 || h.ids[0] != 2 {
		t.Errorf("staff handler got %v, want [2] (deduplicated, other groups ignored)", h.ids)
	}
	if n := len(conv.Calls()); n != 0 {
		t.Errorf("conversation called for staff updates")
	}
}

func TestE2ECommandAfterEmoji(t *testing.T) {
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv})
	if code, _ := e.post(commandUpdate(1, 812, "👋 /start@PutokazBot ref_42", 3, 17)); code != 200 {
		t.Fatalf("status %d", code)
	}
	if code, _ := e.post(commandUpdate(2, 812, "/menu@OtherBot", 0, 14)); code != 200 {
		t.Fatalf("status %d", code)
	}
	calls := conv.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls %+v", calls)
	}
	if in := calls[0].in; in.Kind != engine.InCommand || in.Command != "start" || in.Arg != "ref_42" {
		t.Errorf("first = %+v", in)
	}
	if in := calls[1].in; in.Kind != engine.InText {
		t.Errorf("command for another bot = %+v, want plain text", in)
	}
}

func TestE2ELongText(t *testing.T) {
	conv := funcConv(func(_ context.Context, _ string, in engine.Input) ([]engine.Message, error) {
		return []engine.Message{{Text: fmt.Sprintf("got %d", len([]rune(in.Text))), Lang: "en"},
			{Text: strings.Repeat("<b>Paragraf.</b> ", 1000), Lang: "en", Buttons: []engine.Button{{Label: "Home", Data: "h"}}}}, nil
	})
	e := newEnv(t, envOpts{conv: conv})
	if code, _ := e.post(textUpdate(1, 813, strings.Repeat("ж", 5000))); code != 200 {
		t.Fatalf("status %d", code)
	}
	sent := e.api.Delivered("sendMessage")
	if len(sent) != 4 || sent[0].Str("text") != "got 4096" {
		t.Fatalf("sent %d messages, first %q", len(sent), sent[0].Str("text"))
	}
	for i, c := range sent[1:] {
		if n := visibleLen(c.Str("text")); n > maxTextLen {
			t.Errorf("part %d has %d characters", i, n)
		}
		if c.Has("reply_markup") != (i == 2) {
			t.Errorf("part %d: buttons %v", i, c.Has("reply_markup"))
		}
	}
}

func TestE2EMedia(t *testing.T) {
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv})
	msg := func(id int64, content string) string {
		return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1767225600,%s}}`,
			id, id, fromUser(814, "fa"), privateChat(814), content)
	}
	cases := []string{
		`"photo":[{"file_id":"a","file_unique_id":"b","width":1,"height":1}],"caption":"c"`,
		`"voice":{"file_id":"a","file_unique_id":"b","duration":3}`,
		`"sticker":{"file_id":"a","file_unique_id":"b","type":"regular","width":1,"height":1,"is_animated":false,"is_video":false}`,
		`"location":{"latitude":44.8125,"longitude":20.4612}`,
		`"contact":{"phone_number":"+381601234567","first_name":"A"}`,
		`"dice":{"emoji":"🎲","value":3}`,
		`"pinned_message":{"message_id":1,"date":1,"chat":` + privateChat(814) + `}`,
		`"message_origin_unknown":1,"forward_origin":{"type":"some_new_origin","date":1}`,
	}
	for i, c := range cases {
		if code, _ := e.post(msg(int64(i+1), c)); code != 200 {
			t.Errorf("case %d: status %d", i, code)
		}
	}
	edited := fmt.Sprintf(`{"update_id":50,"edited_message":{"message_id":3,"from":%s,"chat":%s,"date":1767225600,"edit_date":1767225700,"text":"fixed"}}`,
		fromUser(814, "fa"), privateChat(814))
	if code, _ := e.post(edited); code != 200 {
		t.Fatalf("edited: %d", code)
	}
	var got []string
	for _, c := range conv.Calls() {
		got = append(got, describe(c.in))
	}
	// The pinned-message service message is ignored; the message with a
	// forward origin the library cannot decode falls back to "unsupported".
	want := []string{"media:photo", "media:voice", "media:sticker", "location:44.812,20.461", "contact",
		"media:unsupported", "media:unsupported", "media:edited"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if calls := conv.Calls(); calls[4].in.Text != "+381601234567" {
		t.Errorf("contact phone = %q", calls[4].in.Text)
	}
	if testlog.Names(e.logBuf.String(), "381601234567") || testlog.Names(e.logBuf.String(), "44.81") {
		t.Error("logs contain a phone number or location")
	}
}

type staffFunc func(ctx context.Context, u *models.Update) error

func (f staffFunc) HandleStaff(ctx context.Context, u *models.Update) error { return f(ctx, u) }

func staffCallback(updateID, groupID int64, data string) string {
	return fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"scb%d","from":%s,"message":{"message_id":3,"date":1767225600,`+
		`"chat":{"id":%d,"type":"supergroup","title":"Staff","is_forum":true},"message_thread_id":5},"chat_instance":"1","data":%q}}`,
		updateID, updateID, fromUser(42, "sr"), groupID, data)
}

func TestE2EStaffCallbacksAndFailures(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	h := staffFunc(func(_ context.Context, u *models.Update) error {
		mu.Lock()
		defer mu.Unlock()
		if u.CallbackQuery == nil {
			return nil
		}
		seen = append(seen, u.CallbackQuery.Data)
		switch u.CallbackQuery.Data {
		case "boom":
			panic("staff bug")
		case "fail":
			return errTransient
		}
		return nil
	})
	e := newEnv(t, envOpts{staff: map[int64]bool{-100555: true}, staffHandler: h})
	if code, body := e.post(staffCallback(1, -100555, "claim:7")); code != 200 || !strings.Contains(body, `"scb1"`) {
		t.Errorf("claim = %d %q, want 200 with the callback answer", code, body)
	}
	if code, body := e.post(staffCallback(2, -100555, "boom")); code != 200 || !strings.Contains(body, `"scb2"`) {
		t.Errorf("panicking staff handler = %d %q", code, body)
	}
	for i := range 3 {
		if code, _ := e.post(staffCallback(3, -100555, "fail")); code != 500 {
			t.Errorf("failing staff handler attempt %d = %d", i, code)
		}
	}
	if code, body := e.post(staffCallback(3, -100555, "fail")); code != 200 || !strings.Contains(body, `"scb3"`) {
		t.Errorf("poison staff update = %d %q", code, body)
	}
	if strings.Join(seen, ",") != "claim:7,boom,fail,fail,fail" {
		t.Errorf("handler saw %v", seen)
	}
	if e.updates("callback_query", "panic") != 1 || e.updates("callback_query", "poison") != 1 {
		t.Error("outcomes not counted")
	}
}

func TestPollingStaffCallbackAnsweredAfterHandler(t *testing.T) {
	var handledAt time.Time
	h := staffFunc(func(context.Context, *models.Update) error {
		handledAt = time.Now()
		time.Sleep(20 * time.Millisecond)
		return nil
	})
	e := newEnv(t, envOpts{polling: true, staff: map[int64]bool{-100555: true}, staffHandler: h})
	_ = e.api.Push(staffCallback(1, -100555, "claim:1"))
	e.serve()
	calls, err := e.api.WaitForMethod("answerCallbackQuery", 1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if calls[0].Str("callback_query_id") != "scb1" || calls[0].Time.Before(handledAt.Add(20*time.Millisecond)) {
		t.Errorf("answered %v, handler ran at %v", calls[0].Time, handledAt)
	}
}

// Updates whose sender cannot be trusted reach no session and no chat: a
// private message or button whose chat is not the sender's own (it would
// answer one person's /status into another chat), and a button without a
// sender (it would share the session "tg:0" among all such updates).
func TestE2EUntrustedSendersDropped(t *testing.T) {
	conv := &echoConv{}
	e := newEnv(t, envOpts{conv: conv})
	forgedText := fmt.Sprintf(`{"update_id":1,"message":{"message_id":1,"from":%s,"chat":%s,"date":1767225600,"text":"/status PK-7F3Q"}}`,
		fromUser(880000501, "en"), privateChat(880000502))
	forgedButton := fmt.Sprintf(`{"update_id":2,"callback_query":{"id":"cb2","from":%s,"message":{"message_id":7,"chat":%s,`+
		`"date":1767225600,"text":"menu"},"chat_instance":"-77","data":"1:0"}}`, fromUser(880000501, "en"), privateChat(880000502))
	noSender := fmt.Sprintf(`{"update_id":3,"callback_query":{"id":"cb3","message":{"message_id":7,"chat":%s,`+
		`"date":1767225600,"text":"menu"},"chat_instance":"-77","data":"1:0"}}`, privateChat(880000503))
	noSenderText := fmt.Sprintf(`{"update_id":4,"message":{"message_id":4,"chat":%s,"date":1767225600,"text":"hi"}}`, privateChat(880000504))
	for i, u := range []string{forgedText, forgedButton, noSender, noSenderText} {
		if code, _ := e.post(u); code != http.StatusOK {
			t.Fatalf("update %d: status %d (Telegram would re-send it forever)", i+1, code)
		}
	}
	if n := len(conv.Calls()); n != 0 {
		t.Errorf("conversation called %d times: %+v", n, conv.Calls())
	}
	if sent := e.api.Delivered("sendMessage"); len(sent) != 0 {
		t.Errorf("sent %d messages", len(sent))
	}
	if e.updates("message", "forged") != 1 || e.updates("callback_query", "forged") != 1 ||
		e.updates("callback_query", "no_sender") != 1 || e.updates("message", "no_sender") != 1 {
		t.Error("untrusted updates not counted by type and reason")
	}
	logs := e.logBuf.String()
	if strings.Count(logs, "its sender cannot be trusted") != 4 {
		t.Errorf("want one log line per dropped update:\n%s", logs)
	}
	if testlog.Names(logs, "880000501") || testlog.Names(logs, "880000502") || strings.Contains(logs, "PK-7F3Q") {
		t.Errorf("logs hold a raw chat id or text:\n%s", logs)
	}
}
