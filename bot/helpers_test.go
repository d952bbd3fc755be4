package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/promtest"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/testkit/testlog"
)

const testSecret = "s3cret_token-for-tests"

// testLimits keep tests fast: tiny backoffs, generous rate limits (tests of
// the limiter set their own), short leases.
func testLimits() Limits {
	return Limits{
		PrivatePerSecond: 1000, PrivateBurst: 100, GroupPerMinute: 60000, GroupBurst: 100,
		GlobalPerSecond: 10000, GlobalBurst: 1000,
		APIAttempts: 5, BackoffBase: 5 * time.Millisecond, BackoffMax: 40 * time.Millisecond,
		CallTimeout: 5 * time.Second, UpdateAttempts: 3,
		LeaseTTL: 2 * time.Second, LeaseWait: 3 * time.Second, HandleTimeout: 20 * time.Second,
		PollTimeout: time.Second, ShutdownTimeout: 2 * time.Second, ReadyCacheTTL: 50 * time.Millisecond,
	}
}

type testEnv struct {
	t      *testing.T
	api    *botapitest.Server
	srv    *Server
	sender *Sender
	http   *httptest.Server
	reg    *prometheus.Registry
	rdb    redis.UniversalClient
	keys   keys.Keys
	logBuf *testlog.Buffer
}

type envOpts struct {
	conv Conversation
	// handlers besides the conversation (Handlers)
	staffHandler StaffHandler
	commands     CommandTexts
	blocked      BlockedHook
	memory       bool // no Redis
	polling      bool
	limits       *Limits
	staff        map[int64]bool
	api          *botapitest.Server // share a fake API between servers
	rdb          redis.UniversalClient
	keys         *keys.Keys
}

// newEnv builds a Server against a fake Bot API and (unless memory) the real
// Redis, with its HTTP handler on an httptest server.
func newEnv(t *testing.T, o envOpts) *testEnv {
	t.Helper()
	e := &testEnv{t: t, api: o.api, reg: prometheus.NewRegistry(), logBuf: &testlog.Buffer{}}
	if e.api == nil {
		e.api = botapitest.New(t)
	}
	if !o.memory {
		if o.rdb != nil {
			e.rdb, e.keys = o.rdb, *o.keys
		} else {
			e.rdb, e.keys = redistest.New(t)
		}
	}
	lim := testLimits()
	if o.limits != nil {
		lim = *o.limits
	}
	cfg := Config{Token: e.api.Token(), APIURL: e.api.URL(), ListenAddr: "127.0.0.1:0", StaffGroups: o.staff,
		BotUsername: e.api.BotUsername(), LogSalt: "test", Limits: lim}
	if !o.polling {
		cfg.WebhookURL = "https://bot.example.org/telegram/hook"
		cfg.WebhookSecret = testSecret
	}
	conv := o.conv
	if conv == nil {
		conv = &echoConv{}
	}
	log := slog.New(slog.NewJSONHandler(io.MultiWriter(e.logBuf, testlog.T(t)), &slog.HandlerOptions{Level: slog.LevelDebug}))
	var rdb redis.UniversalClient
	if !o.memory {
		rdb = e.rdb
	}
	sender, err := NewSender(cfg, rdb, e.keys, e.reg, log)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	srv, err := New(sender, Handlers{Conversation: conv, Staff: o.staffHandler, Commands: o.commands, Blocked: o.blocked})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv, e.sender = srv, sender
	e.http = httptest.NewServer(srv.Handler())
	t.Cleanup(e.http.Close)
	return e
}

// post sends a webhook delivery like Telegram does and returns status and body.
func (e *testEnv) post(update string) (int, string) {
	return postWebhook(e.t, e.http.URL+"/telegram/hook", testSecret, update)
}

func postWebhook(t *testing.T, url, secret, update string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(update))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(secretHeader, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST webhook: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// counter reads a counter or gauge without the testutil package.
func (e *testEnv) counter(c prometheus.Collector) float64 { return promtest.Sum(c) }

func (e *testEnv) updates(typ, outcome string) float64 {
	return promtest.Sum(e.srv.m.updates.WithLabelValues(typ, outcome))
}

func (e *testEnv) apiCalls(method, result string) float64 {
	return promtest.Sum(e.srv.m.apiCalls.WithLabelValues(method, result))
}

// Updates as Telegram sends them.

func privateChat(id int64) string {
	return fmt.Sprintf(`{"id":%d,"first_name":"Ana","type":"private"}`, id)
}

func fromUser(id int64, lang string) string {
	return fmt.Sprintf(`{"id":%d,"is_bot":false,"first_name":"Ana","language_code":%q}`, id, lang)
}

func textUpdate(updateID, chatID int64, text string) string {
	b, _ := json.Marshal(text)
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1767225600,"text":%s}}`,
		updateID, updateID, fromUser(chatID, "sr"), privateChat(chatID), b)
}

func commandUpdate(updateID, chatID int64, text string, offset, length int) string {
	b, _ := json.Marshal(text)
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1767225600,"text":%s,`+
		`"entities":[{"offset":%d,"length":%d,"type":"bot_command"}]}}`,
		updateID, updateID, fromUser(chatID, "en"), privateChat(chatID), b, offset, length)
}

func callbackUpdate(updateID, chatID int64, data string) string {
	return fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"cb%d","from":%s,"message":{"message_id":7,"from":`+
		`{"id":123456,"is_bot":true,"first_name":"Putokaz","username":"PutokazBot"},"chat":%s,"date":1767225600,"text":"menu"},`+
		`"chat_instance":"-77","data":%q}}`, updateID, updateID, fromUser(chatID, "ar"), privateChat(chatID), data)
}

func groupTextUpdate(updateID, groupID, userID int64, text string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":{"id":%d,"title":"Staff","type":"supergroup"},`+
		`"date":1767225600,"text":%q}}`, updateID, updateID, fromUser(userID, "sr"), groupID, text)
}

// echoConv answers every input with one message describing it, with two buttons.
type echoConv struct {
	mu    sync.Mutex
	calls []convCall
}

type convCall struct {
	user string
	in   engine.Input
}

func (c *echoConv) HandleSession(_ context.Context, user string, _ *conversation.Session, in engine.Input) ([]engine.Message, error) {
	c.mu.Lock()
	c.calls = append(c.calls, convCall{user, in})
	c.mu.Unlock()
	return []engine.Message{{Text: "echo " + describe(in), Lang: "en",
		Buttons: []engine.Button{{Label: "Back", Data: "b:1"}, {Label: "Home", Data: "h:1"}}}}, nil
}

func (c *echoConv) Calls() []convCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]convCall(nil), c.calls...)
}

func describe(in engine.Input) string {
	switch in.Kind {
	case engine.InText:
		return "text:" + escapeHTML(in.Text)
	case engine.InCommand:
		return "command:" + in.Command + ":" + in.Arg
	case engine.InButton:
		return "button:" + in.Data
	case engine.InLocation:
		return fmt.Sprintf("location:%.3f,%.3f", in.Lat, in.Lon)
	case engine.InContact:
		return "contact"
	case engine.InMedia:
		return "media:" + in.Media
	}
	return "?"
}

// funcConv adapts a function.
type funcConv func(ctx context.Context, user string, in engine.Input) ([]engine.Message, error)

func (f funcConv) HandleSession(ctx context.Context, user string, _ *conversation.Session, in engine.Input) ([]engine.Message, error) {
	return f(ctx, user, in)
}

func reply(text string) []engine.Message { return []engine.Message{{Text: text, Lang: "en"}} }

// recordingConv records the order and overlap of calls per user.
type recordingConv struct {
	delay    time.Duration
	mu       sync.Mutex
	active   map[string]int
	overlaps int
	seen     map[string][]string // user → texts in handling order
	total    atomic.Int64
}

func newRecordingConv(delay time.Duration) *recordingConv {
	return &recordingConv{delay: delay, active: map[string]int{}, seen: map[string][]string{}}
}

func (c *recordingConv) HandleSession(ctx context.Context, user string, _ *conversation.Session, in engine.Input) ([]engine.Message, error) {
	c.mu.Lock()
	c.active[user]++
	if c.active[user] > 1 {
		c.overlaps++
	}
	c.seen[user] = append(c.seen[user], in.Text+in.Data)
	c.mu.Unlock()
	c.total.Add(1)
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.active[user]--
	c.mu.Unlock()
	return reply("ok " + in.Text + in.Data), nil
}

var errTransient = errors.New("transient failure")

// builtinContent is the content built into the binary.
func builtinContent(t *testing.T) *content.Content {
	t.Helper()
	c, diags := content.Load(content.Embedded())
	if c == nil || diags.HasErrors() {
		t.Fatalf("built-in content does not load:\n%v", diags)
	}
	return c
}

// contentTexts supplies the apology from the content, as internal/app does:
// the language of the Telegram app through the content's table.
type contentTexts struct {
	t *testing.T
	c *content.Content
}

func (contentTexts) Commands(string) []Command { return nil }

func (ct contentTexts) ErrorText(code string) string {
	lang := engine.MatchLanguage(ct.c.Languages, code)
	if lang == "" {
		lang = content.DefaultLanguage
	}
	s, err := ct.c.Texts.Render(lang, content.TextTransportError, nil, nil)
	if err != nil {
		ct.t.Errorf("apology in %s: %v", lang, err)
	}
	return s
}
