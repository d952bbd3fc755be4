package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/prometheus/client_golang/prometheus"

	"putokaz/internal/engine"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/promtest"
)

func newTestSender(t *testing.T, apiURL, token string, lim Limits) (*Sender, *metrics) {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	lim = lim.withDefaults()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return newSender(newAPIClient(apiURL, token), lim, NewMemoryInactive(time.Hour), m, log, newHasher("x").chat), m
}

func sendText(ctx context.Context, s *Sender, chatID int64, text string) error {
	return s.Call(ctx, "sendMessage", chatID, outParams{ChatID: chatID, Text: text}, nil)
}

func TestSenderErrorsMatchLibrary(t *testing.T) {
	api := botapitest.New(t)
	s, _ := newTestSender(t, api.URL(), api.Token(), testLimits())
	ctx := t.Context()

	api.Forbidden(1, -100) // a group: not marked inactive
	err := sendText(ctx, s, -100, "x")
	if !errors.Is(err, tgbot.ErrorForbidden) {
		t.Errorf("403: %v", err)
	}
	if inactive, _ := s.inactive.IsInactive(ctx, -100); inactive {
		t.Error("group marked inactive")
	}
	api.Fail(botapitest.Fault{Method: "sendMessage", Status: 400, Description: "Bad Request: chat not found"})
	err = sendText(ctx, s, 5, "x")
	var ae *APIError
	if !errors.Is(err, tgbot.ErrorBadRequest) || !errors.As(err, &ae) || ae.Code != 400 || ae.Method != "sendMessage" {
		t.Errorf("400: %v", err)
	}
	// 429 waited out inside Call; with a cancelled context the library's
	// error type comes back.
	api.TooManyRequests(1, 30, 0)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = sendText(cctx, s, 0, "x") // chat 0: global wait path
	var tmr *tgbot.TooManyRequestsError
	if !errors.As(err, &tmr) || tmr.RetryAfter != 30 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("429 then deadline: %v", err)
	}
	// Unauthorized.
	bad, _ := newTestSender(t, api.URL(), "1:wrong", testLimits())
	if err := bad.Call(ctx, "getMe", 0, nil, nil); !errors.Is(err, tgbot.ErrorUnauthorized) {
		t.Errorf("401: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Error("token in error")
	}
}

func TestSenderNetworkErrorsGiveUpWithoutToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	s, m := newTestSender(t, "http://"+addr, "123:SECRET-TOKEN", testLimits())
	err = sendText(t.Context(), s, 1, "x")
	var ne *NetError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "SECRET-TOKEN") {
		t.Errorf("token leaked in %q", err)
	}
	if got := promtest.Sum(m.apiCalls.WithLabelValues("sendMessage", resNetworkError)); got != 5 {
		t.Errorf("network_error attempts = %v, want 5", got)
	}
	if got := promtest.Sum(m.apiCalls.WithLabelValues("sendMessage", resGaveUp)); got != 1 {
		t.Errorf("gave_up = %v", got)
	}
}

func TestSenderHangTimesOutAndRetries(t *testing.T) {
	api := botapitest.New(t)
	lim := testLimits()
	lim.CallTimeout = 100 * time.Millisecond
	s, m := newTestSender(t, api.URL(), api.Token(), lim)
	api.Hang(1, 0)
	if err := sendText(t.Context(), s, 3, "x"); err != nil {
		t.Fatalf("err = %v", err)
	}
	if got := promtest.Sum(m.apiCalls.WithLabelValues("sendMessage", resNetworkError)); got != 1 {
		t.Errorf("network_error = %v", got)
	}
	if len(api.Delivered("sendMessage")) != 1 {
		t.Error("not delivered")
	}
}

func TestSenderContextCancelStopsRetries(t *testing.T) {
	api := botapitest.New(t)
	s, _ := newTestSender(t, api.URL(), api.Token(), testLimits())
	api.TooManyRequests(100, 5, 4)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start := time.Now()
	err := sendText(ctx, s, 4, "x")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
}

// A 429 for one chat: see TestSenderChat429BlocksOnlyThatChat and
// TestSenderGlobal429SlowsEveryLane (lane_test.go).

func TestSenderPerChatRateLimit(t *testing.T) {
	api := botapitest.New(t)
	lim := testLimits()
	lim.PrivatePerSecond, lim.PrivateBurst = 10, 2
	lim.GroupPerMinute, lim.GroupBurst = 600, 1 // 10/s
	s, _ := newTestSender(t, api.URL(), api.Token(), lim)
	start := time.Now()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() { _ = sendText(t.Context(), s, 21, "x") })
	}
	wg.Go(func() { _ = sendText(t.Context(), s, 22, "other") })
	wg.Wait()
	// 6 messages at 10/s with burst 2: the last leaves after ≥ 0.4 s.
	if el := time.Since(start); el < 350*time.Millisecond {
		t.Errorf("6 messages to one chat took %v", el)
	}
	for _, c := range api.ByChat(22) {
		if c.Time.Sub(start) > 200*time.Millisecond {
			t.Errorf("another chat was delayed by %v", c.Time.Sub(start))
		}
	}
	// Groups: 3 messages at 10/s burst 1 take ≥ 0.2 s.
	start = time.Now()
	for range 3 {
		_ = sendText(t.Context(), s, -500, "g")
	}
	if el := time.Since(start); el < 180*time.Millisecond {
		t.Errorf("group messages took %v", el)
	}
}

func TestSenderGlobalRateLimit(t *testing.T) {
	api := botapitest.New(t)
	lim := testLimits()
	lim.GlobalPerSecond, lim.GlobalBurst = 20, 1
	s, _ := newTestSender(t, api.URL(), api.Token(), lim)
	start := time.Now()
	var wg sync.WaitGroup
	staff := WithLane(t.Context(), LaneStaff) // replies are not held to it (lane_test.go)
	for i := range 5 {
		wg.Go(func() { _ = sendText(staff, s, int64(100+i), "x") })
	}
	wg.Wait()
	if el := time.Since(start); el < 180*time.Millisecond {
		t.Errorf("5 staff messages to 5 chats at 20/s took %v", el)
	}
	// Calls to no chat (answerCallbackQuery, getMe) are not limited.
	start = time.Now()
	for range 5 {
		_ = s.Call(t.Context(), "getMe", 0, nil, nil)
	}
	if el := time.Since(start); el > 150*time.Millisecond {
		t.Errorf("unlimited calls took %v", el)
	}
}

func TestLimiterEviction(t *testing.T) {
	c := newChatLimiters(Limits{PrivatePerSecond: 1, PrivateBurst: 3, GroupPerMinute: 20, GroupBurst: 3})
	for i := range 1000 {
		if _, err := c.wait(t.Context(), int64(i+1), LaneReply); err != nil {
			t.Fatal(err)
		}
	}
	if c.size() != 1000 {
		t.Fatalf("size = %d", c.size())
	}
	// Pretend time passed: every entry is idle beyond the refill time.
	c.mu.Lock()
	for _, e := range c.m {
		e.last = time.Now().Add(-2 * c.idle)
	}
	c.lastSweep = time.Now().Add(-2 * c.idle)
	c.mu.Unlock()
	if _, err := c.wait(t.Context(), 5000, LaneReply); err != nil {
		t.Fatal(err)
	}
	if c.size() != 1 {
		t.Errorf("after sweep size = %d, want 1", c.size())
	}
}

func TestRunOpsFallbacks(t *testing.T) {
	api := botapitest.New(t)
	s, _ := newTestSender(t, api.URL(), api.Token(), testLimits())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := t.Context()

	// The edit that attaches inline buttons is refused: the text is sent
	// again with them.
	ops, _ := render(31, 0, []engine.Message{{Text: "Menu", Buttons: []engine.Button{{Label: "Home", Data: "h"}}}}, true)
	api.Fail(botapitest.Fault{Method: "editMessageReplyMarkup", Status: 400, Description: "Bad Request: message can't be edited"})
	n, kbd, err := s.runOps(ctx, ops, log)
	if err != nil || n != 2 || kbd != kbdRemoved {
		t.Fatalf("runOps = %d %v %v", n, kbd, err)
	}
	sent := api.Delivered("sendMessage")
	if len(sent) != 2 || sent[1].Str("text") != "Menu" || !strings.Contains(string(sent[1].Params["reply_markup"]), "inline_keyboard") {
		t.Errorf("fallback = %+v", sent)
	}
	edits := api.CallsTo("editMessageReplyMarkup")
	if len(edits) != 1 || edits[0].Int("message_id") == 0 {
		t.Errorf("edit = %+v", edits)
	}

	// The edit works: it targets the message just sent.
	api.Reset()
	ops, _ = render(31, 0, []engine.Message{{Text: "Menu", Buttons: []engine.Button{{Label: "Home", Data: "h"}}}}, true)
	if _, _, err := s.runOps(ctx, ops, log); err != nil {
		t.Fatal(err)
	}
	sent = api.Delivered("sendMessage")
	edits = api.Delivered("editMessageReplyMarkup")
	var first struct {
		MessageID int64 `json:"message_id"`
	}
	_ = json.Unmarshal(sent[0].Result, &first)
	if len(edits) != 1 || edits[0].Int("message_id") != first.MessageID || edits[0].Has("text") {
		t.Errorf("edit %+v of message %d", edits, first.MessageID)
	}

	// Broken HTML: sent again as plain text.
	api.Reset()
	api.Fail(botapitest.Fault{Method: "sendMessage", Status: 400, Description: "Bad Request: can't parse entities: unclosed tag"})
	ops, _ = render(31, 0, []engine.Message{{Text: "<b>A &amp; B"}}, false)
	if n, _, err := s.runOps(ctx, ops, log); err != nil || n != 1 {
		t.Fatalf("runOps = %d %v", n, err)
	}
	sent = api.Delivered("sendMessage")
	if len(sent) != 1 || sent[0].Str("text") != "A & B" || sent[0].Has("parse_mode") {
		t.Errorf("plain fallback = %+v", sent)
	}

	// Another 400 skips that message; the rest still go out.
	api.Reset()
	api.Fail(botapitest.Fault{Method: "sendMessage", Status: 400, Description: "Bad Request: something"})
	ops, _ = render(31, 0, []engine.Message{{Text: "one"}, {Text: "two"}}, false)
	if n, _, err := s.runOps(ctx, ops, log); err != nil || n != 2 {
		t.Fatalf("runOps = %d %v", n, err)
	}
	if sent := api.Delivered("sendMessage"); len(sent) != 1 || sent[0].Str("text") != "two" {
		t.Errorf("sent %+v", sent)
	}

	// A 5xx that outlasts the retries stops the run: ops[n:] are left.
	api.Reset()
	ops, _ = render(31, 0, []engine.Message{{Text: "one"}, {Text: "two"}}, false)
	api.Fail(botapitest.Fault{Method: "sendMessage", Status: 502, Times: 5, ChatID: 31})
	n, _, err = s.runOps(ctx, ops, log)
	if err == nil || n != 0 {
		t.Errorf("runOps = %d, %v", n, err)
	}
}

func TestSenderSendToInactive(t *testing.T) {
	api := botapitest.New(t)
	s, _ := newTestSender(t, api.URL(), api.Token(), testLimits())
	_ = s.inactive.SetInactive(t.Context(), 41)
	if err := s.Send(t.Context(), 41, 0, engine.Message{Text: "x"}); !errors.Is(err, ErrInactive) {
		t.Errorf("err = %v", err)
	}
	// Within the handling of their own update the check is skipped.
	ctx := withActiveChat(t.Context(), 41)
	if err := s.Send(ctx, 41, 0, engine.Message{Text: "x"}); err != nil {
		t.Errorf("err = %v", err)
	}
	if got := len(api.Delivered("sendMessage")); got != 1 {
		t.Errorf("delivered %d", got)
	}
}

// The answer is decoded in one pass straight into the caller's value; the
// envelope's errors still win, and a result of the wrong shape is an error of
// its own (not a server error to retry).
func TestAPIClientDecodesAnswers(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"sendMessage":    {200, `{"ok":true,"result":{"message_id":42,"chat":{"id":7},"text":"long echo"}}`},
		"setWebhook":     {200, `{"ok":true,"result":true}`},
		"getMe":          {200, `{"ok":true,"result":"not a user"}`},
		"sendPhoto":      {429, `{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":3}}`},
		"sendDocument":   {502, `<html>Bad Gateway</html>`},
		"answerCallback": {200, `{"ok":false}`},
		"sendVoice":      {200, `<html>captive portal</html>`},
		"sendAudio":      {200, ` { "ok": true, "result": {"message_id": 1} }`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]]
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	defer srv.Close()
	c := newAPIClient(srv.URL, "1:t")
	ctx := t.Context()

	var m sentMessage
	if err := c.call(ctx, "sendMessage", nil, &m); err != nil || m.MessageID != 42 {
		t.Errorf("sendMessage: %v, message_id %d", err, m.MessageID)
	}
	for _, method := range []string{"sendMessage", "sendAudio"} {
		if err := c.call(ctx, method, nil, nil); err != nil {
			t.Errorf("%s, result not wanted: %v", method, err)
		}
	}
	var ok bool
	if err := c.call(ctx, "setWebhook", nil, &ok); err != nil || !ok {
		t.Errorf("setWebhook: %v, %v", err, ok)
	}
	var me struct{ ID int64 }
	err := c.call(ctx, "getMe", nil, &me)
	var ae *APIError
	if err == nil || !strings.Contains(err.Error(), "decode result") || errors.As(err, &ae) {
		t.Errorf("result of the wrong shape: %v", err)
	}
	err = c.call(ctx, "sendPhoto", nil, &m)
	if !errors.As(err, &ae) || ae.Code != 429 || ae.RetryAfter != 3 {
		t.Errorf("429: %v", err)
	}
	for _, method := range []string{"sendDocument", "answerCallback", "sendVoice"} {
		if err := c.call(ctx, method, nil, nil); !errors.As(err, &ae) || ae.Code != http.StatusBadGateway {
			t.Errorf("%s: not the API's JSON must be a 502: %v", method, err)
		}
	}
}

// The bulk lane does not look up whether a chat is inactive (a Redis round
// trip per update): it sends, and Telegram's 403 marks the chat. The other
// lanes still send nothing to an inactive chat.
func TestBulkLaneLearnsBlockedChatsFrom403(t *testing.T) {
	api := botapitest.New(t)
	s, _ := newTestSender(t, api.URL(), api.Token(), testLimits())
	ctx := t.Context()
	if err := s.inactive.SetInactive(ctx, 71); err != nil {
		t.Fatal(err)
	}
	if err := sendText(ctx, s, 71, "reply"); !errors.Is(err, ErrInactive) {
		t.Fatalf("reply to an inactive chat: %v, want ErrInactive", err)
	}
	if n := len(api.ByChat(71)); n != 0 {
		t.Fatalf("%d calls reached the API for an inactive chat's reply", n)
	}
	bulk := WithLane(ctx, LaneBulk)
	api.Forbidden(1, 71)
	if err := sendText(bulk, s, 71, "update"); !errors.Is(err, tgbot.ErrorForbidden) {
		t.Fatalf("update to a blocked chat: %v, want Telegram's 403", err)
	}
	// A chat blocked since it was last seen: the 403 marks it.
	api.Forbidden(1, 72)
	if err := sendText(bulk, s, 72, "update"); !errors.Is(err, tgbot.ErrorForbidden) {
		t.Fatalf("update to a blocked chat: %v, want Telegram's 403", err)
	}
	if inactive, _ := s.inactive.IsInactive(ctx, 72); !inactive {
		t.Fatal("the 403 to a bulk send did not mark the chat inactive")
	}
	if err := sendText(bulk, s, 73, "update"); err != nil {
		t.Fatalf("update to an active chat: %v", err)
	}
}

// Pace takes a send's turn without sending; CallPaced sends it without
// waiting for another: one token of the global limit per message.
func TestPaceThenCallPaced(t *testing.T) {
	api := botapitest.New(t)
	lim := testLimits()
	lim.GlobalPerSecond, lim.GlobalBurst = 5, 1
	s, _ := newTestSender(t, api.URL(), api.Token(), lim)
	bulk := WithLane(t.Context(), LaneBulk)
	start := time.Now()
	p, err := s.Pace(bulk, 81)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(api.ByChat(81)); n != 0 {
		t.Fatalf("Pace sent %d calls", n)
	}
	if err := s.CallPaced(bulk, p, "sendMessage", outParams{ChatID: 81, Text: "update"}, nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 150*time.Millisecond {
		t.Errorf("one paced message took %v: it waited twice", el)
	}
	if n := len(api.ByChat(81)); n != 1 {
		t.Fatalf("%d calls reached the API, want 1", n)
	}
	// The next message to another chat waits for the next token (200 ms).
	if _, err := s.Pace(bulk, 82); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("the second turn came after %v at 5/s", el)
	}
}
