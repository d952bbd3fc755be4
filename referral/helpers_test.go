package referral

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"putokaz/bot"
	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/store"
	"putokaz/internal/subscribe"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/testkit/testlog"
)

// The test world: two staff groups (A serves "svc", B serves "svc2"), people
// with private chats 501, 502, ..., staff member 9001 in group A and 9002
// in group B.
const (
	groupA      int64 = -1001001
	groupB      int64 = -1001002
	staffA      int64 = 9001
	staffB      int64 = 9002
	webhookPath       = "/telegram/hook"
	hookSecret        = "s3cret_token-for-referral-tests"
)

// fastLimits keep tests quick: generous rate limits (the burst test sets its
// own), tiny backoffs, short leases.
func fastLimits() bot.Limits {
	return bot.Limits{
		PrivatePerSecond: 1000, PrivateBurst: 100, GroupPerMinute: 60000, GroupBurst: 100,
		GlobalPerSecond: 10000, GlobalBurst: 1000,
		APIAttempts: 5, BackoffBase: 5 * time.Millisecond, BackoffMax: 40 * time.Millisecond,
		CallTimeout: 5 * time.Second, UpdateAttempts: 3,
		LeaseTTL: 2 * time.Second, LeaseWait: 5 * time.Second, HandleTimeout: 30 * time.Second,
		PollTimeout: time.Second, ShutdownTimeout: 2 * time.Second, ReadyCacheTTL: 50 * time.Millisecond,
	}
}

// testConfig is the referral configuration of the test world.
func testConfig() Config {
	return Config{
		Queues: map[string]Queue{
			"svc":  {Group: groupA, Languages: []string{"en"}},
			"svc2": {Group: groupB},
		},
		LeaseTTL: 300 * time.Millisecond, MinIdle: 400 * time.Millisecond, Block: 100 * time.Millisecond,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		WebhookBackoffBase: 10 * time.Millisecond, WebhookBackoffMax: 50 * time.Millisecond,
	}
}

// testContent is contenttest's fixture plus a second service, svc2 (no
// questions; its person is told when staff close a referral), opened by a
// "Talk 2" button... reachable only through the directory (tests use it for routing to group B).
func testContent(t *testing.T) *content.Content {
	t.Helper()
	files := contenttest.Files()
	dir := strings.Replace(files["flows/directory.yaml"], "places:", `  svc2:
    name: svc2.name
    consent: svc2.consent
    declined: svc2.declined
    notify_closed: true
places:`, 1)
	en := files["locales/active.en.yaml"] + "svc2:\n  name: Second service\n  consent: May we tell the second service?\n  declined: Call them.\n"
	fa := files["locales/active.fa.yaml"] + "svc2:\n  name: خدمت دوم\n  consent: آیا به خدمت دوم بگوییم؟\n  declined: زنگ بزنید.\n"
	// A topic people can follow, so that erasure covers subscriptions.
	sos := strings.Replace(files["flows/sos.yaml"], "emergency: true\n", "emergency: true\nsubscribable: true\n", 1)
	root := contenttest.Write(t, map[string]string{"flows/directory.yaml": dir, "locales/active.en.yaml": en,
		"locales/active.fa.yaml": fa, "flows/sos.yaml": sos})
	c, diags := content.Load(content.Dir(root))
	if c == nil || diags.HasErrors() {
		t.Fatalf("test content does not load:\n%v", diags)
	}
	return c
}

type envOpts struct {
	cfg      *Config
	limits   *bot.Limits
	noWorker bool // do not start the outbox (tests start workers themselves)
	rdb      redis.UniversalClient
	keys     *keys.Keys
	api      *botapitest.Server
	now      func() time.Time // the referral service's clock (nil: time.Now)
	// manualRemind: the services' outboxes run no reminder pass; the test
	// calls Remind at the times it sets.
	manualRemind bool
}

type testEnv struct {
	t      *testing.T
	api    *botapitest.Server
	rdb    redis.UniversalClient
	k      keys.Keys
	srv    *bot.Server
	sender *bot.Sender
	http   *httptest.Server
	svc    *Desk
	conv   *conversation.Runner
	holder *content.Holder
	reg    *prometheus.Registry
	logs   *testlog.Buffer
	log    *slog.Logger
	cfg    Config
	nextID atomic.Int64
	tgConv *repeatConv // the conversation as the transport calls it
	now    func() time.Time
	manual bool

	mu   sync.Mutex
	runs []func() // stop functions of running outboxes
}

// TelegramSide builds the desk's Telegram side (package telegramstaff) for
// these tests. telegramstaff imports this package, so tests inside it
// cannot import telegramstaff; telegramside_test.go, in the external test
// package, fills it in before any test runs.
var TelegramSide struct {
	Staff   func(s *bot.Sender) Staff
	Handler func(d *Desk, s *bot.Sender, botUsername func() string) bot.StaffHandler
	Lock    func(rdb redis.UniversalClient, k keys.Keys, ttl, wait time.Duration) PersonLock
}

// newEnv wires everything as internal/app does: real Redis, the fake Bot
// API, the transport's real webhook handler, the conversation core on the
// test content, and the referral service (its outbox running unless
// noWorker).
func newEnv(t *testing.T, o envOpts) *testEnv {
	t.Helper()
	e := &testEnv{t: t, api: o.api, reg: prometheus.NewRegistry(), logs: &testlog.Buffer{}, now: o.now, manual: o.manualRemind}
	e.nextID.Store(1000)
	if e.api == nil {
		e.api = botapitest.New(t)
	}
	if o.rdb != nil {
		e.rdb, e.k = o.rdb, *o.keys
	} else {
		e.rdb, e.k = redistest.New(t)
	}
	e.cfg = testConfig()
	if o.cfg != nil {
		e.cfg = *o.cfg
	}
	lim := fastLimits()
	if o.limits != nil {
		lim = *o.limits
	}
	e.log = slog.New(slog.NewJSONHandler(io.MultiWriter(e.logs, testlog.T(t)), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.holder = content.NewHolder(testContent(t))
	staff := map[int64]bool{}
	for _, g := range e.cfg.Groups() {
		staff[g] = true
	}
	sender, err := bot.NewSender(bot.Config{Token: e.api.Token(), APIURL: e.api.URL(), ListenAddr: "127.0.0.1:0",
		WebhookURL: "https://bot.example.org" + webhookPath, WebhookSecret: hookSecret, StaffGroups: staff,
		BotUsername: e.api.BotUsername(), LogSalt: "test", Limits: lim}, e.rdb, e.k, e.reg, e.log)
	if err != nil {
		t.Fatalf("bot.NewSender: %v", err)
	}
	e.sender = sender
	e.svc = e.newService(nil)
	sessions, err := store.NewRedis(e.rdb, e.k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var seq atomic.Uint64
	seq.Store(uint64(time.Now().UnixNano()))
	eng := engine.New(time.Now, func() uint64 { return seq.Add(7919) })
	subs := subscribe.NewHandler(subscribe.NewRedis(e.rdb, e.k, subscribe.DefaultTTL, time.Now), e.svc)
	e.conv = conversation.New(sessions, eng, e.holder, bot.Effects(subs), e.log)
	e.conv.Statuses = e.svc
	e.conv.Subscriptions = subs
	e.conv.Cases = e.svc
	e.tgConv = &repeatConv{conv: e.conv}
	srv, err := bot.New(sender, bot.Handlers{Conversation: e.tgConv, Blocked: subs.Unsubscribe,
		Staff: TelegramSide.Handler(e.svc, sender, sender.BotUsername)})
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	e.srv = srv
	e.http = httptest.NewServer(srv.Handler())
	t.Cleanup(e.http.Close)
	t.Cleanup(e.stopAll)
	if !o.noWorker {
		e.run(e.svc)
	}
	return e
}

// newService builds another referral service on the same Redis and staff
// side ("another replica": its own outbox consumer).
func (e *testEnv) newService(reg prometheus.Registerer) *Desk {
	if reg == nil {
		reg = e.reg
	}
	svc, err := New(Options{Config: e.cfg, Store: NewRedisStore(e.rdb, e.k), Staff: TelegramSide.Staff(e.sender),
		Content: e.holder, Registry: reg, Log: e.log, LogSalt: "test",
		Lock: TelegramSide.Lock(e.rdb, e.k, 5*time.Second, 5*time.Second), Now: e.now})
	if err != nil {
		e.t.Fatalf("referral.New: %v", err)
	}
	svc.noRemindLoop = e.manual
	return svc
}

// run starts a service's outbox; the returned function stops it and waits.
func (e *testEnv) run(svc *Desk) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(ctx, e.conv)
	}()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	e.mu.Lock()
	e.runs = append(e.runs, stop)
	e.mu.Unlock()
	return stop
}

func (e *testEnv) stopAll() {
	e.mu.Lock()
	runs := e.runs
	e.mu.Unlock()
	for _, stop := range runs {
		stop()
	}
}

// repeatConv is the transport's conversation. With repeat set it handles
// each input twice (the second time as after a crash that lost the first
// result) and returns the second answer.
type repeatConv struct {
	conv     *conversation.Runner
	repeat   atomic.Bool
	repeated atomic.Int64
}

func (l *repeatConv) HandleSession(ctx context.Context, user string, sess *conversation.Session, in engine.Input) ([]engine.Message, error) {
	if l.repeat.Load() {
		// The first result is lost with the crash: its session is not written.
		var lost *conversation.Session
		if sess != nil {
			lost = conversation.NewSession(sess.Load())
		}
		if _, err := l.conv.HandleSession(ctx, user, lost, in); err != nil {
			return nil, err
		}
		l.repeated.Add(1)
	}
	return l.conv.HandleSession(ctx, user, sess, in)
}

// post delivers an update through the real webhook handler, like Telegram,
// and fails the test unless it is answered 200.
func (e *testEnv) post(update string) string {
	e.t.Helper()
	code, body := e.postRaw(update)
	if code != http.StatusOK {
		e.t.Fatalf("webhook answered %d %q to %s", code, body, update)
	}
	return body
}

func (e *testEnv) postRaw(update string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+webhookPath, strings.NewReader(update))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("POST webhook: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *testEnv) id() int64 { return e.nextID.Add(1) }

func jsonStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func person(id int64) string {
	return fmt.Sprintf(`{"id":%d,"is_bot":false,"first_name":"Ana","language_code":"en"}`, id)
}

func privateChat(id int64) string {
	return fmt.Sprintf(`{"id":%d,"first_name":"Ana","type":"private"}`, id)
}

func groupChat(id int64) string {
	return fmt.Sprintf(`{"id":%d,"title":"Staff","type":"supergroup","is_forum":true}`, id)
}

// say: the person types text.
func (e *testEnv) say(chat int64, text string) {
	e.t.Helper()
	id := e.id()
	e.post(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1767225600,"text":%s}}`,
		id, id, person(chat), privateChat(chat), jsonStr(text)))
}

// command: the person sends /command (with its entity, as Telegram does).
func (e *testEnv) command(chat int64, text string) {
	e.t.Helper()
	id := e.id()
	name, _, _ := strings.Cut(text, " ")
	e.post(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1767225600,"text":%s,`+
		`"entities":[{"offset":0,"length":%d,"type":"bot_command"}]}}`, id, id, person(chat), privateChat(chat),
		jsonStr(text), len(name)))
}

// photo: the person sends a photo; returns its message ID.
func (e *testEnv) photo(chat int64) int {
	e.t.Helper()
	id := e.id()
	e.post(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1767225600,`+
		`"photo":[{"file_id":"AgAD","file_unique_id":"u1","width":90,"height":90}],"caption":"my papers"}}`,
		id, id, person(chat), privateChat(chat)))
	return int(id)
}

// tap: the person presses a button with data.
func (e *testEnv) tap(chat int64, data string) {
	e.t.Helper()
	id := e.id()
	e.post(fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"cb%d","from":%s,"message":{"message_id":7,"from":`+
		`{"id":123456,"is_bot":true,"first_name":"Putokaz","username":"PutokazBot"},"chat":%s,"date":1767225600,"text":"x"},`+
		`"chat_instance":"-77","data":%s}}`, id, id, person(chat), privateChat(chat), jsonStr(data)))
}

// press: the person presses the button labelled label on the newest
// message to them that has one.
func (e *testEnv) press(chat int64, label string) {
	e.t.Helper()
	data := e.buttonData(chat, label)
	if data == "" {
		e.t.Fatalf("no button %q in the chat with %d; last texts:\n%s", label, chat, strings.Join(e.texts(chat), "\n"))
	}
	e.tap(chat, data)
}

func (e *testEnv) buttonData(chat int64, label string) string {
	calls := e.api.ByChat(chat)
	for i := len(calls) - 1; i >= 0; i-- {
		var kb struct {
			InlineKeyboard [][]struct {
				Text         string `json:"text"`
				CallbackData string `json:"callback_data"`
			} `json:"inline_keyboard"`
		}
		if calls[i].Decode("reply_markup", &kb) != nil {
			continue
		}
		for _, row := range kb.InlineKeyboard {
			for _, b := range row {
				if strings.Contains(b.Text, label) {
					return b.CallbackData
				}
			}
		}
	}
	return ""
}

// texts are the texts sent to a chat, oldest first.
func (e *testEnv) texts(chat int64) []string {
	var out []string
	for _, c := range e.api.ByChat(chat) {
		if c.Method == "sendMessage" && c.OK {
			out = append(out, c.Str("text"))
		}
	}
	return out
}

// waitText waits until a message containing want reached chat.
func (e *testEnv) waitText(chat int64, want string) botapitest.Call {
	e.t.Helper()
	var got botapitest.Call
	_, err := e.api.WaitUntil(func(calls []botapitest.Call) bool {
		for _, c := range calls {
			if c.ChatID == chat && c.Method == "sendMessage" && c.OK && strings.Contains(c.Str("text"), want) {
				got = c
				return true
			}
		}
		return false
	}, 10*time.Second)
	if err != nil {
		e.t.Fatalf("no message with %q to %d: %v; texts:\n%s", want, chat, err, strings.Join(e.texts(chat), "\n"))
	}
	return got
}

// waitCall waits for a successful call of method matching cond.
func (e *testEnv) waitCall(method string, cond func(botapitest.Call) bool) botapitest.Call {
	e.t.Helper()
	var got botapitest.Call
	_, err := e.api.WaitUntil(func(calls []botapitest.Call) bool {
		for _, c := range calls {
			if c.Method == method && c.OK && cond(c) {
				got = c
				return true
			}
		}
		return false
	}, 10*time.Second)
	if err != nil {
		e.t.Fatalf("no %s call as expected: %v", method, err)
	}
	return got
}

var codeRe = regexp.MustCompile(`PK-[2-9A-HJ-NP-Z]{4}`)

// lastCode is the newest referral code told to chat.
func (e *testEnv) lastCode(chat int64) string {
	e.t.Helper()
	ts := e.texts(chat)
	for i := len(ts) - 1; i >= 0; i-- {
		if m := codeRe.FindString(ts[i]); m != "" {
			return m
		}
	}
	e.t.Fatalf("no code told to %d", chat)
	return ""
}

// card waits for the case card of code and returns it (its chat, topic and
// message ID are the call's chat_id, message_thread_id and result).
func (e *testEnv) card(code string) (call botapitest.Call, msgID int) {
	e.t.Helper()
	c := e.waitCall("sendMessage", func(c botapitest.Call) bool {
		return c.ChatID < 0 && strings.Contains(c.Str("text"), code) && strings.Contains(string(c.Params["reply_markup"]), "c:"+code)
	})
	var r struct {
		MessageID int `json:"message_id"`
	}
	_ = json.Unmarshal(c.Result, &r)
	// Staff can press its buttons once the bot has recorded it (a human
	// takes longer than that).
	polltest.Until(e.t, 5*time.Second, "the card to be recorded", func() bool {
		cs, _ := e.svc.Case(context.Background(), code)
		return cs != nil && cs.Card == r.MessageID
	})
	return c, r.MessageID
}

// Staff updates.

func staffUser(id int64) string {
	return fmt.Sprintf(`{"id":%d,"is_bot":false,"first_name":"Case","last_name":"Worker","language_code":"sr"}`, id)
}

// staffSay: a staff member writes text in a topic of a group (thread 0:
// outside topics).
func (e *testEnv) staffSay(group int64, thread int, from int64, text string) int {
	e.t.Helper()
	id := e.id()
	topic := ""
	if thread != 0 {
		topic = fmt.Sprintf(`"message_thread_id":%d,"is_topic_message":true,`, thread)
	}
	entities := ""
	if strings.HasPrefix(text, "/") {
		name, _, _ := strings.Cut(text, " ")
		entities = fmt.Sprintf(`,"entities":[{"offset":0,"length":%d,"type":"bot_command"}]`, len(name))
	}
	e.post(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,%s"from":%s,"chat":%s,"date":1767225600,"text":%s%s}}`,
		id, id, topic, staffUser(from), groupChat(group), jsonStr(text), entities))
	return int(id)
}

// staffTap: a staff member presses a button with data on message msgID of
// a group; returns the webhook's answer body (an answerCallbackQuery).
func (e *testEnv) staffTap(group int64, msgID int, from int64, data string) string {
	e.t.Helper()
	id := e.id()
	return e.post(fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"scb%d","from":%s,"message":{"message_id":%d,`+
		`"from":{"id":123456,"is_bot":true,"first_name":"Putokaz","username":"PutokazBot"},"chat":%s,"date":1767225600,"text":"card"},`+
		`"chat_instance":"-78","data":%s}}`, id, id, staffUser(from), msgID, groupChat(group), jsonStr(data)))
}

// callbackAnswer is the text of the answerCallbackQuery for a staff tap.
func (e *testEnv) callbackAnswer(prefix string) string {
	for _, c := range e.api.CallsTo("answerCallbackQuery") {
		if strings.HasPrefix(c.Str("callback_query_id"), prefix) && c.Str("text") != "" {
			return c.Str("text")
		}
	}
	return ""
}

// refKeys lists the referral keys under the test prefix.
func (e *testEnv) refKeys() []string {
	e.t.Helper()
	var out []string
	iter := e.rdb.Scan(context.Background(), 0, e.k.Referral().Pattern(), 1000).Iterator()
	for iter.Next(context.Background()) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		e.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// allKeys lists every key under the test prefix.
func (e *testEnv) allKeys() []string {
	e.t.Helper()
	var out []string
	iter := e.rdb.Scan(context.Background(), 0, e.k.PrefixPattern(), 1000).Iterator()
	for iter.Next(context.Background()) {
		out = append(out, iter.Val())
	}
	slices.Sort(out)
	return out
}
