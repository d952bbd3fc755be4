package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/keys"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/proctest"
	"putokaz/internal/testkit/redistest"
)

// A kill test needs a process that can really be killed: the test binary
// runs itself as the bot (TestMain, with killChildEnv set), serving the
// webhook against the parent's fake Bot API and Redis.
const (
	killChildEnv    = "PUTOKAZ_TEST_KILL_CHILD" // the key prefix; set: run as the child
	killChildAPIEnv = "PUTOKAZ_TEST_KILL_CHILD_API"
	killParts       = 4 // replies per update of multiPartConv
)

func TestMain(m *testing.M) {
	if prefix := os.Getenv(killChildEnv); prefix != "" {
		os.Exit(runKillChild(prefix, os.Getenv(killChildAPIEnv)))
	}
	os.Exit(m.Run())
}

// multiPartConv keeps a counter in the person's session and answers every
// text with killParts messages "<text> #<counter> part <i>/<n>": the same
// input on the same session gives the same replies, as the engine does.
type multiPartConv struct{}

func (multiPartConv) HandleSession(_ context.Context, _ string, sess *conversation.Session, in engine.Input) ([]engine.Message, error) {
	if sess == nil {
		return nil, errors.New("no session read with the lease")
	}
	n, _ := strconv.Atoi(string(sess.Load()))
	n++
	sess.Stage([]byte(strconv.Itoa(n)))
	msgs := make([]engine.Message, killParts)
	for i := range msgs {
		msgs[i] = engine.Message{Text: fmt.Sprintf("%s #%d part %d/%d", in.Text, n, i+1, killParts), Lang: "en"}
	}
	return msgs, nil
}

// runKillChild is the child: it serves the webhook on a free port, prints
// "listening <addr>" and runs until killed.
func runKillChild(prefix, apiURL string) int {
	fail := proctest.Fail
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		raw = redistest.DefaultURL
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return fail(err)
	}
	rdb := redis.NewClient(opts)
	k := keys.New(prefix)
	lim := testLimits()
	lim.LeaseTTL = 15 * time.Second // as in production: expiry must not be what frees the chat
	lim.LeaseWait = time.Second
	cfg := Config{Token: botapitest.DefaultToken, APIURL: apiURL, ListenAddr: "127.0.0.1:0",
		WebhookURL: "https://bot.example.org/telegram/hook", WebhookSecret: testSecret, BotUsername: "PutokazBot",
		LogSalt: "test", Limits: lim}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	sender, err := NewSender(cfg, rdb, k, prometheus.NewRegistry(), log)
	if err != nil {
		return fail(err)
	}
	srv, err := New(sender, Handlers{Conversation: multiPartConv{}})
	if err != nil {
		return fail(err)
	}
	return proctest.Serve(srv.Handler())
}

// killChild is a running child bot.
type killChild struct {
	*proctest.Child
	url string
}

func startKillChild(t *testing.T, apiURL, prefix string) *killChild {
	t.Helper()
	c := proctest.Start(t, killChildEnv+"="+prefix, killChildAPIEnv+"="+apiURL)
	return &killChild{Child: c, url: "http://" + c.Addr + "/telegram/hook"}
}

// TestKilledProcessRepeatsAtMostTheMessageInFlight: a bot process (a real
// child process) is killed with SIGKILL while it sends the four replies of
// each of 20 chats' updates. Telegram re-sends every update not answered
// 200 to a second process until it is. Counting every message at the fake
// Bot API: every reply arrives, and a chat sees at most one message twice
// — the one in flight at the kill; the next update continues from the
// session of the killed one's re-delivery.
func TestKilledProcessRepeatsAtMostTheMessageInFlight(t *testing.T) {
	_, k := redistest.New(t)
	var delivered atomic.Int64
	api := botapitest.NewServer(botapitest.Options{
		// Slow enough that the kill lands while most chats are mid-update.
		Latency: 40 * time.Millisecond,
		OnCall: func(c botapitest.Call) {
			if c.Method == "sendMessage" && c.OK {
				delivered.Add(1)
			}
		},
	})
	defer api.Close()
	const chats = 20
	chatID := func(c int) int64 { return 918275000 + int64(c) }

	a := startKillChild(t, api.URL(), k.Prefix())
	var mu sync.Mutex
	answered := map[int]bool{} // chats whose first update A answered 200
	var wg sync.WaitGroup
	for c := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _ := postQuiet(a.url, textUpdate(int64(100+c), chatID(c), "hello")); code == http.StatusOK {
				mu.Lock()
				answered[c] = true
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for delivered.Load() < chats*killParts/2 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d replies within 20 s; child output:\n%s", delivered.Load(), a.Out.String())
		}
		time.Sleep(time.Millisecond)
	}
	a.Kill()
	killed := time.Now()
	wg.Wait()
	before := map[int64]int{} // chat → replies delivered before the kill
	for _, c := range api.Delivered("sendMessage") {
		before[c.ChatID]++
	}
	cut := 0 // chats the kill caught after at least two replies, before the last
	for c := range chats {
		if n := before[chatID(c)]; n >= 2 && n < killParts {
			cut++
		}
	}
	if cut == 0 {
		t.Fatalf("the kill caught no chat after two replies and before its last (%v): the test proves nothing", before)
	}

	// Telegram re-sends what was not answered 200, to another process.
	b := startKillChild(t, api.URL(), k.Prefix())
	var lastAnswer atomic.Int64
	var resends atomic.Int64
	for c := range chats {
		if answered[c] {
			continue
		}
		wg.Add(1)
		go func() { // Telegram re-sends each chat's update on its own
			defer wg.Done()
			for {
				resends.Add(1)
				code, _ := postQuiet(b.url, textUpdate(int64(100+c), chatID(c), "hello"))
				if code == http.StatusOK {
					took := int64(time.Since(killed))
					for {
						if old := lastAnswer.Load(); old >= took || lastAnswer.CompareAndSwap(old, took) {
							return
						}
					}
				}
				if code != http.StatusServiceUnavailable {
					t.Errorf("chat %d: re-send answered %d", c, code)
				}
				if time.Since(killed) > 20*time.Second {
					t.Errorf("chat %d not answered 200 within 20 s of the kill", c)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.Fatalf("second process output:\n%s", b.Out.String())
	}
	for c := range chats {
		if code, _ := postQuiet(b.url, textUpdate(int64(200+c), chatID(c), "again")); code != http.StatusOK {
			t.Fatalf("chat %d: next update answered %d", c, code)
		}
	}

	repeated, worst := 0, 0
	for c := range chats {
		count := map[string]int{}
		for _, call := range api.Delivered("sendMessage") {
			if call.ChatID == chatID(c) {
				count[call.Str("text")]++
			}
		}
		dup := 0
		for i := 1; i <= killParts; i++ {
			for _, text := range []string{"hello #1", "again #2"} {
				msg := fmt.Sprintf("%s part %d/%d", text, i, killParts)
				switch n := count[msg]; {
				case n == 0:
					t.Errorf("chat %d never got %q (got %v)", c, msg, count)
				case n > 1:
					dup += n - 1
				}
				delete(count, msg)
			}
		}
		if len(count) > 0 {
			t.Errorf("chat %d got unexpected messages %v", c, count)
		}
		if dup > 1 {
			t.Errorf("chat %d saw %d messages twice, want at most the one in flight", c, dup)
		}
		repeated += dup
		worst = max(worst, dup)
	}
	if strings.Contains(b.Out.String(), strconv.FormatInt(chatID(0), 10)) {
		t.Error("logs hold a raw chat id")
	}
	t.Logf("measured: %d chats × %d replies; SIGKILL after %d replies (%d chats cut after 2–%d of theirs, %d updates "+
		"not answered); %d re-sends to a second process; %d messages repeated in all, at most %d per chat; "+
		"every chat answered within %v of the kill",
		chats, killParts, sum(before), cut, killParts-1, chats-len(answered), resends.Load(), repeated, worst,
		time.Duration(lastAnswer.Load()).Round(time.Millisecond))
}

func sum(m map[int64]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// postQuiet is postWebhook for goroutines and for a target that may be
// gone: a failed request is status 0, not a test error.
func postQuiet(url, update string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(update))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(secretHeader, testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestProgressSkipsSentGroups: the state records reply progress only under
// the lease, a re-delivery after a takeover gets it back, and the done mark
// or an outbox drops it.
func TestProgressSkipsSentGroups(t *testing.T) {
	for name, st := range stateImpls(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			chat := "tg:95"
			if r, err := st.begin(ctx, chat, 1, "A", false, ""); err != nil || r.status != beginAcquired || r.sent != 0 {
				t.Fatalf("begin = %+v, %v", r, err)
			}
			if ok, err := st.progress(ctx, chat, 1, "B", 1, nil); ok || err != nil {
				t.Errorf("progress under another's lease = %v, %v", ok, err)
			}
			if ok, err := st.progress(ctx, chat, 1, "A", 2, []int{501, 502}); !ok || err != nil {
				t.Fatalf("progress = %v, %v", ok, err)
			}
			// A is killed; the re-delivery takes the lease over.
			if ok, err := st.takeOver(ctx, chat, "A", "B"); !ok || err != nil {
				t.Fatalf("takeOver = %v, %v", ok, err)
			}
			r, err := st.begin(ctx, chat, 1, "B", false, "")
			if err != nil || r.status != beginAcquired || r.sent != 2 || r.attempt != 2 {
				t.Fatalf("begin after takeover = %+v, %v; want 2 groups sent", r, err)
			}
			if ok, _ := st.progress(ctx, chat, 1, "A", 3, nil); ok {
				t.Error("the killed holder recorded progress after the takeover")
			}
			if ids, err := st.messages(ctx, chat); err != nil || len(ids) != 2 {
				t.Errorf("message ids recorded with progress = %v, %v", ids, err)
			}
			// Fails with replies left: the outbox replaces the count.
			if _, err := st.finish(ctx, chat, 1, "B", finishArgs{outbox: []byte(`[]`)}); err != nil {
				t.Fatal(err)
			}
			if r, _ := st.begin(ctx, chat, 1, "C", false, ""); r.sent != 0 || r.outbox == nil {
				t.Errorf("begin after an outbox = %+v, want no count", r)
			}
			if ok, _ := st.progress(ctx, chat, 1, "C", 1, nil); !ok {
				t.Error("progress of the outbox not recorded")
			}
			if _, err := st.finish(ctx, chat, 1, "C", finishArgs{done: true}); err != nil {
				t.Fatal(err)
			}
			if r, _ := st.begin(ctx, chat, 1, "D", false, ""); r.status != beginDone {
				t.Errorf("begin of a done update = %+v", r)
			}
		})
	}
}

func TestReplyGroups(t *testing.T) {
	ops := []op{{}, {EditPrev: true}, {}, {}, {EditPrev: true}, {EditPrev: true}}
	if got := fmt.Sprint(replyGroups(ops)); got != "[0 2 3]" {
		t.Errorf("replyGroups = %s", got)
	}
	if got := replyGroups(nil); len(got) != 0 {
		t.Errorf("no ops: %v", got)
	}
}

// BenchmarkWebhookUpdateThreeReplies is BenchmarkWebhookUpdate with an
// answer of three messages: two reply-progress records ride on each update
// (recover_progress.go), the cost the kill guarantee adds. A one-message
// answer records none.
//
//	go test -run '^$' -bench 'WebhookUpdate' -benchtime 3s ./bot/
func BenchmarkWebhookUpdateThreeReplies(b *testing.B) {
	api := botapitest.NewServer(botapitest.Options{})
	defer api.Close()
	rdb, k := redistest.New(b)
	cfg := Config{Token: api.Token(), APIURL: api.URL(), WebhookURL: "https://x.org/hook", WebhookSecret: testSecret,
		BotUsername: "PutokazBot", Limits: testLimits()}
	three := funcConv(func(_ context.Context, _ string, in engine.Input) ([]engine.Message, error) {
		return []engine.Message{{Text: "one", Lang: "en"}, {Text: "two", Lang: "en"}, {Text: "three", Lang: "en"}}, nil
	})
	sender, err := NewSender(cfg, rdb, k, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(sender, Handlers{Conversation: three})
	if err != nil {
		b.Fatal(err)
	}
	benchPost(b, srv.Handler(), "/hook")
}

// TestRedisRoundTripsPerMultiReplyUpdate pins the cost of the kill
// guarantee: an answer of three messages adds one progress record after
// each message but the last (a one-message answer adds none:
// TestRedisRoundTripsPerUpdate).
func TestRedisRoundTripsPerMultiReplyUpdate(t *testing.T) {
	rdb, k := redistest.New(t)
	h := &redistest.CountingHook{}
	rdb.AddHook(skipHeartbeat{})
	rdb.AddHook(h)
	e := newEnv(t, envOpts{rdb: rdb, keys: &k, conv: multiPartConv{}})
	if code, _ := e.post(textUpdate(1, 901, "warm up")); code != 200 { // loads the scripts
		t.Fatalf("status %d", code)
	}
	h.Reset()
	if code, _ := e.post(textUpdate(2, 901, "hello")); code != 200 {
		t.Fatalf("status %d", code)
	}
	if want := int64(2 + killParts - 1); h.Count() != want {
		t.Errorf("Redis round trips for %d replies = %d (%v), want %d", killParts, h.Count(), h.Commands(), want)
	}
	if n := rdb.Exists(t.Context(), k.ChatUpdates(chatKey(901))).Val(); n != 0 {
		t.Errorf("progress left behind after the update was done: %v", rdb.HGetAll(t.Context(), k.ChatUpdates(chatKey(901))).Val())
	}
}
