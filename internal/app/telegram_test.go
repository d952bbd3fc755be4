package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"putokaz/bot"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/testkit/testlog"
)

// servedBot is `putokaz serve` in webhook mode against the fake Bot API,
// with helpers that act as one person in a private chat.
type servedBot struct {
	t      *testing.T
	api    *botapitest.Server
	addr   string
	errOut *testlog.Buffer
	exit   chan int
	cancel context.CancelFunc
	id     atomic.Int64
}

const servedChat = 4242

func serveForTest(t *testing.T, extra map[string]string) *servedBot {
	t.Helper()
	api := botapitest.New(t)
	_, k := redistest.New(t) // a unique key prefix, cleaned up after the test
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	vars := map[string]string{
		"TELEGRAM_TOKEN": api.Token(), "TELEGRAM_API_URL": api.URL(),
		"TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/hook", "TELEGRAM_WEBHOOK_SECRET": "wiring-secret",
		"LISTEN_ADDR": addr, "REDIS_KEY_PREFIX": k.Prefix(), "CONTENT_DIR": contenttest.Write(t, nil),
		"LOG_LEVEL": "debug", "REDIS_URL": redistestURL(),
	}
	for k, v := range extra {
		vars[k] = v
	}
	b := &servedBot{t: t, api: api, addr: addr, errOut: &testlog.Buffer{}, exit: make(chan int, 1)}
	b.id.Store(100)
	env := Env{Stdin: strings.NewReader(""), Stdout: &testlog.Buffer{}, Stderr: b.errOut, Getenv: func(k string) string { return vars[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		b.exit <- Main(ctx, []string{"serve"}, env)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(15 * time.Second):
		}
	})
	if _, err := api.WaitForMethod("setWebhook", 1, 10*time.Second); err != nil {
		t.Fatalf("the bot did not start: %v\n%s", err, b.errOut.String())
	}
	return b
}

// post delivers an update; anything but 200 fails the test (Telegram would
// deliver it again).
func (b *servedBot) post(update string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+b.addr+"/telegram/hook", strings.NewReader(update))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "wiring-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.t.Fatalf("webhook %d %s\n%s", resp.StatusCode, body, b.errOut.String())
	}
}

const servedFrom = `"from":{"id":4242,"is_bot":false,"first_name":"A","language_code":"en"}`

func (b *servedBot) text(s string) {
	b.t.Helper()
	n := b.id.Add(1)
	ent := ""
	if strings.HasPrefix(s, "/") {
		name, _, _ := strings.Cut(s, " ")
		ent = fmt.Sprintf(`,"entities":[{"offset":0,"length":%d,"type":"bot_command"}]`, len(name))
	}
	b.post(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,%s,"chat":{"id":%d,"type":"private"},"date":1767225600,"text":%q%s}}`,
		n, n, servedFrom, servedChat, s, ent))
}

// tap presses the newest button whose label contains label.
func (b *servedBot) tap(label string) {
	b.t.Helper()
	data := ""
	for _, c := range b.api.ByChat(servedChat) {
		var kb struct {
			InlineKeyboard [][]struct {
				Text string `json:"text"`
				Data string `json:"callback_data"`
			} `json:"inline_keyboard"`
		}
		if c.Decode("reply_markup", &kb) == nil {
			for _, row := range kb.InlineKeyboard {
				for _, btn := range row {
					if strings.Contains(btn.Text, label) {
						data = btn.Data
					}
				}
			}
		}
	}
	if data == "" {
		b.t.Fatalf("no button %q", label)
	}
	n := b.id.Add(1)
	b.post(fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"q%d",%s,"message":{"message_id":1,"chat":{"id":%d,"type":"private"},"date":1767225600,"text":"x"},"chat_instance":"1","data":%q}}`,
		n, n, servedFrom, servedChat, data))
}

// said reports whether the person was sent a text containing sub.
func (b *servedBot) said(sub string) bool {
	for _, c := range b.api.ByChat(servedChat) {
		if strings.Contains(c.Str("text"), sub) {
			return true
		}
	}
	return false
}

// TestServeTelegramWiresReferrals runs `putokaz serve` against the fake Bot
// API in webhook mode and walks a referral through the real webhook: the
// conversation's effects reach the referral service, the outbox (started
// with the server) posts the case card in the queue's group, a staff claim
// from that group is handled, /status answers, and the whole thing stops
// cleanly on shutdown.
func TestServeTelegramWiresReferrals(t *testing.T) {
	const group = -1009001
	b := serveForTest(t, map[string]string{"REFERRAL_QUEUES": fmt.Sprintf(`{svc: {group: %d}}`, group)})
	b.text("/start")
	b.tap("English")
	b.tap("Refer me")
	b.tap("common.referral.yes")
	b.text("Novi Sad")
	b.text("+381 60 1234567")
	var code string
	for _, c := range b.api.ByChat(servedChat) {
		if s := c.Str("text"); strings.Contains(s, "common.referral.sent") {
			code = strings.Fields(s)[2]
		}
	}
	if !strings.HasPrefix(code, "PK-") {
		t.Fatalf("no code told; stderr:\n%s", b.errOut.String())
	}
	calls, err := b.api.WaitUntil(func(cs []botapitest.Call) bool {
		for _, c := range cs {
			if c.Method == "sendMessage" && c.ChatID == group && strings.Contains(c.Str("text"), code) {
				return true
			}
		}
		return false
	}, 10*time.Second)
	if err != nil {
		t.Fatalf("no case card in the queue's group: %v\n%s", err, b.errOut.String())
	}
	cardID := 0
	for _, c := range calls {
		if c.Method == "sendMessage" && c.ChatID == group && strings.Contains(c.Str("text"), code) {
			var r struct {
				MessageID int `json:"message_id"`
			}
			_ = json.Unmarshal(c.Result, &r)
			cardID = r.MessageID
		}
	}
	n := b.id.Add(1)
	b.post(fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"s%d","from":{"id":77,"is_bot":false,"first_name":"S"},`+
		`"message":{"message_id":%d,"chat":{"id":%d,"type":"supergroup","is_forum":true},"date":1767225600,"text":"card"},`+
		`"chat_instance":"2","data":"c:%s"}}`, n, n, cardID, group, code))
	b.text("/status " + code)
	if !b.said("common.status.claimed") {
		t.Errorf("/status does not show the claim; stderr:\n%s", b.errOut.String())
	}
	b.cancel()
	select {
	case code := <-b.exit:
		if code != 0 {
			t.Errorf("exit %d\n%s", code, b.errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15s (the outbox must stop with the server)")
	}
	if strings.Contains(b.errOut.String(), "Novi Sad") {
		t.Error("logs contain an answer")
	}
}

// TestServeWithoutQueuesGivesContacts: on a bot with no staff queue, a
// person who asks for a referral or a person is told at once and given the
// service's public contacts; the update is handled (200), not retried.
func TestServeWithoutQueuesGivesContacts(t *testing.T) {
	b := serveForTest(t, nil)
	b.text("/start")
	b.tap("English")
	for _, button := range []string{"Refer me", "Talk"} {
		b.text("/menu")
		b.tap(button)
		if !b.said("common.referral.offline Test service") || !b.said("Call the test service yourself") {
			t.Fatalf("%s: no public contacts\n%s", button, b.errOut.String())
		}
	}
	if strings.Contains(b.errOut.String(), "will be retried") {
		t.Errorf("an update failed:\n%s", b.errOut.String())
	}
}

// redistestURL is the Redis the tests use (REDIS_URL or redistest's
// default).
func redistestURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return redistest.DefaultURL
}

func TestRateLimitsSetting(t *testing.T) {
	if l := rateLimits("telegram", 30); l != (bot.Limits{}) {
		t.Errorf("telegram: %+v, want the transport's defaults", l)
	}
	// Paid broadcasts: the bulk lanes' overall limit follows announce.rate.
	if l := rateLimits("telegram", 1000); l != (bot.Limits{GlobalPerSecond: 1000, GlobalBurst: 1000}) {
		t.Errorf("telegram with announce.rate 1000: %+v, want a global limit of 1000/s", l)
	}
	if l := rateLimits("off", 30); !math.IsInf(l.PrivatePerSecond, 1) || !math.IsInf(l.GlobalPerSecond, 1) || !math.IsInf(l.GroupPerMinute, 1) {
		t.Errorf("off: %+v, want no limits", l)
	}
}

// TestServeTelegramQuickExit: `putokaz serve` wires the quick exit: /exit
// deletes the person's and the bot's messages of the chat with
// deleteMessages.
func TestServeTelegramQuickExit(t *testing.T) {
	b := serveForTest(t, nil)
	b.text("/start")
	b.tap("English")
	b.text("hello")
	var want []int
	for _, c := range b.api.ByChat(servedChat) {
		if c.Method == "sendMessage" && c.OK {
			want = append(want, c.MessageID)
		}
	}
	if len(want) == 0 {
		t.Fatalf("no replies\n%s", b.errOut.String())
	}
	// The person's /start and "hello", and the message whose button they
	// pressed (the fake tap names message 1).
	want = append(want, 101, 103, 1)
	b.text("/exit")
	want = append(want, int(b.id.Load()))
	calls := b.api.CallsTo("deleteMessages")
	if len(calls) != 1 || calls[0].ChatID != servedChat {
		t.Fatalf("deleteMessages = %+v\n%s", calls, b.errOut.String())
	}
	got := calls[0].Ints("message_ids")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
}
