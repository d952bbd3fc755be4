package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"putokaz/bot/botapitest"
	"putokaz/internal/contenttest"
	"putokaz/internal/redistest"
)

// TestServeTelegramWiresReferrals runs `putokaz serve` against the fake Bot
// API in webhook mode and walks a referral through the real webhook: the
// conversation's effects reach the referral service, the outbox (started
// with the server) posts the case card in the queue's group, a staff claim
// from that group is handled, /status answers, and the whole thing stops
// cleanly on shutdown.
func TestServeTelegramWiresReferrals(t *testing.T) {
	api := botapitest.New(t)
	_, k := redistest.New(t) // a unique key prefix, cleaned up after the test
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const group = -1009001
	vars := map[string]string{
		"TELEGRAM_TOKEN": api.Token(), "TELEGRAM_API_URL": api.URL(),
		"TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/hook", "TELEGRAM_WEBHOOK_SECRET": "wiring-secret",
		"LISTEN_ADDR": addr, "REDIS_KEY_PREFIX": k.Prefix(), "CONTENT_DIR": contenttest.Write(t, nil),
		"REFERRAL_QUEUES": fmt.Sprintf(`{svc: {group: %d}}`, group), "LOG_LEVEL": "debug",
	}
	vars["REDIS_URL"] = redistestURL()
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	env := Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: errOut, Getenv: func(k string) string { return vars[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		exit <- Main(ctx, []string{"serve"}, env)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(15 * time.Second):
		}
	})
	if _, err := api.WaitForMethod("setWebhook", 1, 10*time.Second); err != nil {
		t.Fatalf("the bot did not start: %v\n%s", err, errOut.String())
	}

	var id atomic.Int64
	id.Store(100)
	post := func(update string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/telegram/hook", strings.NewReader(update))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "wiring-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("webhook %d %s\n%s", resp.StatusCode, body, errOut.String())
		}
	}
	const chat = 4242
	from := fmt.Sprintf(`"from":{"id":%d,"is_bot":false,"first_name":"A","language_code":"en"},"chat":{"id":%d,"type":"private"}`, chat, chat)
	text := func(s string) {
		n := id.Add(1)
		ent := ""
		if strings.HasPrefix(s, "/") {
			name, _, _ := strings.Cut(s, " ")
			ent = fmt.Sprintf(`,"entities":[{"offset":0,"length":%d,"type":"bot_command"}]`, len(name))
		}
		post(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,%s,"date":1767225600,"text":%q%s}}`, n, n, from, s, ent))
	}
	tap := func(label string) {
		t.Helper()
		data := ""
		for _, c := range api.ByChat(chat) {
			var kb struct {
				InlineKeyboard [][]struct {
					Text string `json:"text"`
					Data string `json:"callback_data"`
				} `json:"inline_keyboard"`
			}
			if c.Decode("reply_markup", &kb) == nil {
				for _, row := range kb.InlineKeyboard {
					for _, b := range row {
						if strings.Contains(b.Text, label) {
							data = b.Data
						}
					}
				}
			}
		}
		if data == "" {
			t.Fatalf("no button %q", label)
		}
		n := id.Add(1)
		post(fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"q%d",%s,"message":{"message_id":1,"chat":{"id":%d,"type":"private"},"date":1767225600,"text":"x"},"chat_instance":"1","data":%q}}`,
			n, n, strings.Replace(from, `,"chat":{"id":4242,"type":"private"}`, "", 1), chat, data))
	}
	text("/start")
	tap("English")
	tap("Refer me")
	tap("common.referral.yes")
	text("Novi Sad")
	text("+381 60 1234567")
	var code string
	for _, c := range api.ByChat(chat) {
		if s := c.Str("text"); strings.Contains(s, "common.referral.sent") {
			code = strings.Fields(s)[2]
		}
	}
	if !strings.HasPrefix(code, "PK-") {
		t.Fatalf("no code told; stderr:\n%s", errOut.String())
	}
	calls, err := api.WaitUntil(func(cs []botapitest.Call) bool {
		for _, c := range cs {
			if c.Method == "sendMessage" && c.ChatID == group && strings.Contains(c.Str("text"), code) {
				return true
			}
		}
		return false
	}, 10*time.Second)
	if err != nil {
		t.Fatalf("no case card in the queue's group: %v\n%s", err, errOut.String())
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
	n := id.Add(1)
	post(fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":"s%d","from":{"id":77,"is_bot":false,"first_name":"S"},`+
		`"message":{"message_id":%d,"chat":{"id":%d,"type":"supergroup","is_forum":true},"date":1767225600,"text":"card"},`+
		`"chat_instance":"2","data":"c:%s"}}`, n, n, cardID, group, code))
	text("/status " + code)
	found := false
	for _, c := range api.ByChat(chat) {
		found = found || strings.Contains(c.Str("text"), "common.status.claimed")
	}
	if !found {
		t.Errorf("/status does not show the claim; stderr:\n%s", errOut.String())
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d\n%s", code, errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15s (the outbox must stop with the server)")
	}
	if strings.Contains(errOut.String(), "Novi Sad") {
		t.Error("logs contain an answer")
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
