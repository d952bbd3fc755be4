package bot

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"putokaz/internal/engine"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/polltest"
	"putokaz/internal/testkit/promtest"
)

type testCommands struct{}

func (testCommands) Commands(lang string) []Command {
	desc := map[string]string{"en": "Start", "sr": "Почетак", "ar": "ابدأ", "fa": "شروع"}[lang]
	return []Command{{Name: "start", Description: desc}, {Name: "menu", Description: desc + " menu"},
		{Name: "Bad-Name", Description: "x"}, {Name: "help", Description: ""}}
}

func (testCommands) ErrorText(lang string) string {
	if lang == "fa" {
		return "خطا"
	}
	return ""
}

func TestRunWebhookModeStartup(t *testing.T) {
	e := newEnv(t, envOpts{commands: testCommands{}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln) }()
	if _, err := e.api.WaitForMethod("setWebhook", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	hook := e.api.CallsTo("setWebhook")[0]
	var allowed []string
	_ = hook.Decode("allowed_updates", &allowed)
	if hook.Str("url") != "https://bot.example.org/telegram/hook" || hook.Str("secret_token") != testSecret ||
		hook.Int("max_connections") != 100 || !slices.Equal(allowed, allowedUpdates) || hook.Str("drop_pending_updates") != "false" {
		t.Errorf("setWebhook = %v", hook.Params)
	}
	cmds := e.api.CallsTo("setMyCommands")
	if len(cmds) != 5 {
		t.Fatalf("setMyCommands calls = %d, want default + en, sr, ar, fa", len(cmds))
	}
	langs := map[string]string{}
	for _, c := range cmds {
		var list []struct{ Command, Description string }
		_ = c.Decode("commands", &list)
		if len(list) != 2 || list[0].Command != "start" || list[1].Command != "menu" {
			t.Errorf("commands = %s (invalid entries must be left out)", c.Params["commands"])
			continue
		}
		langs[c.Str("language_code")] = list[0].Description
	}
	if langs[""] != "Start" || langs["en"] != "Start" || langs["sr"] != "Почетак" || langs["ar"] != "ابدأ" || langs["fa"] != "شروع" {
		t.Errorf("descriptions by language = %v", langs)
	}
	if calls := e.api.Calls(); calls[0].Method != "getMe" {
		t.Errorf("first call = %s", calls[0].Method)
	}
	base := "http://" + ln.Addr().String()
	// The real listener serves the webhook and the operational endpoints.
	if code, _ := postWebhook(t, base+"/telegram/hook", testSecret, textUpdate(1, 1100, "hi")); code != 200 {
		t.Errorf("webhook = %d", code)
	}
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "putokaz_bot_updates_total"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d %.200s", path, resp.StatusCode, b)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop")
	}
}

func TestRunBadToken(t *testing.T) {
	api := botapitest.NewServer(botapitest.Options{Token: "999:other"})
	t.Cleanup(api.Close)
	e := newEnv(t, envOpts{api: api})
	e.srv.sender.api = newAPIClient(api.URL(), "1:wrong")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	err := e.srv.Serve(t.Context(), ln)
	if err == nil || !strings.Contains(err.Error(), "token was refused") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("Serve = %v", err)
	}
}

func TestReadyzCachedAndFailing(t *testing.T) {
	e := newEnv(t, envOpts{memory: true})
	get := func() int {
		resp, err := http.Get(e.http.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get() != 200 || get() != 200 {
		t.Fatal("not ready")
	}
	if n := len(e.api.CallsTo("getMe")); n != 1 {
		t.Errorf("getMe calls = %d, want 1 (cached)", n)
	}
	e.api.ServerError(100, 502, 0)
	time.Sleep(60 * time.Millisecond)
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with API down = %d", code)
	}
}

// TestGracefulDrain: on shutdown an update in flight finishes and is
// answered 200; a new one gets 503 (Telegram re-sends it to a live replica).
func TestGracefulDrain(t *testing.T) {
	release := make(chan struct{})
	conv := funcConv(func(_ context.Context, _ string, in engine.Input) ([]engine.Message, error) {
		if in.Text == "slow" {
			<-release
		}
		return reply("done " + in.Text), nil
	})
	lim := testLimits()
	lim.ShutdownTimeout = 5 * time.Second
	e := newEnv(t, envOpts{conv: conv, limits: &lim})
	stop := e.serve()
	if _, err := e.api.WaitForMethod("setWebhook", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	slow := make(chan int)
	go func() { code, _ := e.post(textUpdate(1, 1200, "slow")); slow <- code }()
	polltest.Until(t, 5*time.Second, "update in flight", func() bool { return promtest.Sum(e.srv.m.inflight) == 1 })
	stopped := make(chan error)
	go func() { stopped <- stop() }()
	polltest.Until(t, 5*time.Second, "draining", func() bool {
		e.srv.d.drainMu.Lock()
		defer e.srv.d.drainMu.Unlock()
		return e.srv.d.draining
	})
	if code, _ := e.post(textUpdate(2, 1201, "new")); code != http.StatusServiceUnavailable {
		t.Errorf("new update while draining = %d, want 503", code)
	}
	close(release)
	if code := <-slow; code != 200 {
		t.Errorf("in-flight update = %d, want 200", code)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve = %v", err)
	}
	if sent := e.api.Delivered("sendMessage"); len(sent) != 1 || sent[0].Str("text") != "done slow" {
		t.Errorf("sent %+v", sent)
	}
}

// TestDrainDeadline: an update that outlives the drain deadline is cancelled,
// answered 500 (re-delivered later), and its lease released.
func TestDrainDeadline(t *testing.T) {
	conv := funcConv(func(ctx context.Context, _ string, in engine.Input) ([]engine.Message, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	lim := testLimits()
	lim.ShutdownTimeout = 200 * time.Millisecond
	e := newEnv(t, envOpts{conv: conv, limits: &lim})
	stop := e.serve()
	if _, err := e.api.WaitForMethod("setWebhook", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	res := make(chan int)
	go func() { code, _ := e.post(textUpdate(1, 1300, "stuck")); res <- code }()
	polltest.Until(t, 5*time.Second, "update in flight", func() bool { return promtest.Sum(e.srv.m.inflight) == 1 })
	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("Serve = %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("stop took %v", el)
	}
	if code := <-res; code != http.StatusInternalServerError {
		t.Errorf("cancelled update = %d, want 500", code)
	}
	if n := e.rdb.Exists(context.Background(), e.keys.ChatLease(chatKey(1300))).Val(); n != 0 {
		t.Error("lease not released")
	}
}

func TestErrorTexterOverride(t *testing.T) {
	conv := funcConv(func(context.Context, string, engine.Input) ([]engine.Message, error) { panic("x") })
	e := newEnv(t, envOpts{conv: conv, memory: true, commands: testCommands{}})
	msg := `{"update_id":1,"message":{"message_id":1,"from":` + fromUser(1400, "fa") + `,"chat":` + privateChat(1400) +
		`,"date":1,"text":"x"}}`
	if code, _ := e.post(msg); code != 200 {
		t.Fatal(code)
	}
	if sent := e.api.Delivered("sendMessage"); len(sent) != 1 || sent[0].Str("text") != "خطا" {
		t.Errorf("sent %+v", sent)
	}
}

// TestLocationKeyboardFlow: a location request shows a reply keyboard; after
// the person shares a location, the next reply removes it; the state is
// kept in Redis between updates.
func TestLocationKeyboardFlow(t *testing.T) {
	conv := funcConv(func(_ context.Context, _ string, in engine.Input) ([]engine.Message, error) {
		switch in.Kind {
		case engine.InText:
			return []engine.Message{{Text: "Share your location", RequestLocation: true, LocationLabel: "📍 Send",
				Buttons: []engine.Button{{Label: "Back", Data: "b"}}}}, nil
		case engine.InLocation:
			return []engine.Message{{Text: "Nearest: Centre A"},
				{Text: "Anything else?", Buttons: []engine.Button{{Label: "Home", Data: "h"}}}}, nil
		}
		return []engine.Message{{Text: "Menu", Buttons: []engine.Button{{Label: "Home", Data: "h"}}}}, nil
	})
	e := newEnv(t, envOpts{conv: conv})
	if code, _ := e.post(textUpdate(1, 1500, "centres")); code != 200 {
		t.Fatal(code)
	}
	sent := e.api.Delivered("sendMessage")
	if len(sent) != 2 || !strings.Contains(string(sent[0].Params["reply_markup"]), "inline_keyboard") ||
		!strings.Contains(string(sent[1].Params["reply_markup"]), `"request_location":true`) {
		t.Fatalf("request = %+v", sent)
	}
	loc := `{"update_id":2,"message":{"message_id":2,"from":` + fromUser(1500, "en") + `,"chat":` + privateChat(1500) +
		`,"date":1,"location":{"latitude":44.8,"longitude":20.4}}}`
	if code, _ := e.post(loc); code != 200 {
		t.Fatal(code)
	}
	sent = e.api.Delivered("sendMessage")[2:]
	if len(sent) != 2 || string(sent[0].Params["reply_markup"]) != `{"remove_keyboard":true}` ||
		!strings.Contains(string(sent[1].Params["reply_markup"]), "inline_keyboard") {
		t.Fatalf("after location = %+v", sent)
	}
	// Removed: the next reply carries no removal.
	if code, _ := e.post(callbackUpdate(3, 1500, "h")); code != 200 {
		t.Fatal(code)
	}
	sent = e.api.Delivered("sendMessage")[4:]
	if len(sent) != 1 || strings.Contains(string(sent[0].Params["reply_markup"]), "remove_keyboard") {
		t.Fatalf("later = %+v", sent)
	}
	// Request again, then press an inline button instead of sharing: the
	// reply has only inline buttons, so the removal goes on it and the
	// buttons are attached by an edit.
	if code, _ := e.post(textUpdate(4, 1500, "centres")); code != 200 {
		t.Fatal(code)
	}
	if code, _ := e.post(callbackUpdate(5, 1500, "b")); code != 200 {
		t.Fatal(code)
	}
	all := e.api.Delivered("sendMessage")
	last := all[len(all)-1]
	edits := e.api.Delivered("editMessageReplyMarkup")
	var res struct {
		MessageID int64 `json:"message_id"`
	}
	_ = json.Unmarshal(last.Result, &res)
	if string(last.Params["reply_markup"]) != `{"remove_keyboard":true}` || len(edits) != 1 ||
		edits[0].Int("message_id") != res.MessageID || !strings.Contains(string(edits[0].Params["reply_markup"]), `"callback_data":"h"`) {
		t.Errorf("removal with inline-only reply: last %+v, edits %+v", last.Params, edits)
	}
}

// TestNoGoroutineLeak runs many updates through a server and stops it: the
// goroutine count returns to where it was.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		e := newEnv(t, envOpts{})
		stop := e.serve()
		if _, err := e.api.WaitForMethod("setWebhook", 1, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			e.post(textUpdate(int64(i+1), int64(1600+i%5), "x"))
			e.post(callbackUpdate(int64(i+100), int64(1600+i%5), "b"))
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		e.http.Close()
		e.http.CloseClientConnections()
		if n := e.srv.d.locks.Len(); n != 0 {
			t.Errorf("chat locks left: %d", n)
		}
	}()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before+3 {
		buf := make([]byte, 1<<16)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutines: %d before, %d after\n%s", before, after, buf[:n])
	}
}
