package botapitest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// TestLibraryMultipart drives the fake with go-telegram/bot itself, which
// sends multipart/form-data with reply_markup as a JSON string field.
func TestLibraryMultipart(t *testing.T) {
	s := New(t)
	b, err := tgbot.New(s.Token(), tgbot.WithServerURL(s.URL()))
	if err != nil {
		t.Fatalf("bot.New (calls getMe): %v", err)
	}
	ctx := t.Context()
	msg, err := b.SendMessage(ctx, &tgbot.SendMessageParams{
		ChatID: 42, Text: "hello <b>x</b>", ParseMode: models.ParseModeHTML,
		ReplyMarkup: map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "A", "callback_data": "a"}}}},
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	msg2, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: 42, Text: "again"})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if msg.ID == 0 || msg2.ID != msg.ID+1 || msg.Chat.ID != 42 || msg.Chat.Type != models.ChatTypePrivate {
		t.Errorf("messages = %+v / %+v, want incrementing ids in chat 42", msg, msg2)
	}
	calls := s.CallsTo("sendMessage")
	if len(calls) != 2 {
		t.Fatalf("sendMessage calls = %d", len(calls))
	}
	c := calls[0]
	if c.ChatID != 42 || c.Str("text") != "hello <b>x</b>" || c.Str("parse_mode") != "HTML" {
		t.Errorf("decoded call = %+v", c)
	}
	var rm struct {
		InlineKeyboard [][]struct {
			Text         string `json:"text"`
			CallbackData string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	if err := c.Decode("reply_markup", &rm); err != nil || len(rm.InlineKeyboard) != 1 || rm.InlineKeyboard[0][0].CallbackData != "a" {
		t.Errorf("reply_markup = %s (%v)", c.Params["reply_markup"], err)
	}
	if got := len(s.ByChat(42)); got != 2 {
		t.Errorf("ByChat(42) = %d calls", got)
	}

	topic, err := b.CreateForumTopic(ctx, &tgbot.CreateForumTopicParams{ChatID: -100, Name: "case"})
	if err != nil || topic.MessageThreadID == 0 {
		t.Fatalf("CreateForumTopic = %+v, %v", topic, err)
	}
	topic2, _ := b.CreateForumTopic(ctx, &tgbot.CreateForumTopicParams{ChatID: -100, Name: "case2"})
	if topic2.MessageThreadID != topic.MessageThreadID+1 {
		t.Errorf("thread ids %d then %d", topic.MessageThreadID, topic2.MessageThreadID)
	}
	if id, err := b.CopyMessage(ctx, &tgbot.CopyMessageParams{ChatID: -100, FromChatID: 42, MessageID: 5}); err != nil || id.ID == 0 {
		t.Errorf("CopyMessage = %+v, %v", id, err)
	}
	if ok, err := b.CloseForumTopic(ctx, &tgbot.CloseForumTopicParams{ChatID: -100, MessageThreadID: topic.MessageThreadID}); !ok || err != nil {
		t.Errorf("CloseForumTopic = %v, %v", ok, err)
	}
	if _, err := b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: 42, MessageID: msg.ID, Text: "edited"}); err != nil {
		t.Errorf("EditMessageText: %v", err)
	}
	if ok, err := b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: "q1"}); !ok || err != nil {
		t.Errorf("AnswerCallbackQuery = %v, %v", ok, err)
	}
	if ok, err := b.SetMyCommands(ctx, &tgbot.SetMyCommandsParams{Commands: []models.BotCommand{{Command: "start", Description: "Start"}}, LanguageCode: "sr"}); !ok || err != nil {
		t.Errorf("SetMyCommands = %v, %v", ok, err)
	}
	var cmds []models.BotCommand
	if err := s.CallsTo("setMyCommands")[0].Decode("commands", &cmds); err != nil || len(cmds) != 1 || cmds[0].Command != "start" {
		t.Errorf("commands = %+v (%v)", cmds, err)
	}
}

func TestScriptedErrorsWithLibrary(t *testing.T) {
	s := New(t)
	b, err := tgbot.New(s.Token(), tgbot.WithServerURL(s.URL()), tgbot.WithSkipGetMe())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	s.TooManyRequests(1, 3, 7)
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: 8, Text: "other chat is not affected"})
	if err != nil {
		t.Fatalf("chat 8: %v", err)
	}
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: 7, Text: "x"})
	var tmr *tgbot.TooManyRequestsError
	if !errors.As(err, &tmr) || tmr.RetryAfter != 3 {
		t.Fatalf("err = %v, want 429 retry_after 3", err)
	}
	if _, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: 7, Text: "x"}); err != nil {
		t.Fatalf("fault should fire once: %v", err)
	}
	s.Forbidden(1, 9)
	if _, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: 9, Text: "x"}); !errors.Is(err, tgbot.ErrorForbidden) {
		t.Errorf("err = %v, want forbidden", err)
	}
	s.ServerError(1, 502, 0)
	if _, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: 9, Text: "x"}); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("err = %v, want 502", err)
	}
	if got := len(s.Delivered("sendMessage")); got != 2 {
		t.Errorf("delivered = %d, want 2", got)
	}
	if got := len(s.CallsTo("sendMessage")); got != 5 {
		t.Errorf("recorded = %d, want 5", got)
	}
}

func TestJSONAndURLEncoded(t *testing.T) {
	s := New(t)
	base := s.URL() + "/bot" + s.Token() + "/"
	resp, err := http.Post(base+"sendMessage", "application/json",
		strings.NewReader(`{"chat_id":5,"text":"hi","reply_markup":{"remove_keyboard":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		OK     bool `json:"ok"`
		Result struct {
			MessageID int `json:"message_id"`
		} `json:"result"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if !out.OK || out.Result.MessageID == 0 {
		t.Errorf("answer = %+v", out)
	}
	resp, err = http.PostForm(base+"sendMessage", url.Values{"chat_id": {"6"}, "text": {"007"},
		"reply_markup": {`{"inline_keyboard":[[{"text":"x","url":"https://e.org"}]]}`}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls := s.CallsTo("sendMessage")
	if len(calls) != 2 || calls[0].ChatID != 5 || calls[1].ChatID != 6 {
		t.Fatalf("calls = %+v", calls)
	}
	if calls[1].Str("text") != "007" {
		t.Errorf("text = %q, want the string 007", calls[1].Str("text"))
	}
	var rm map[string]any
	if err := calls[1].Decode("reply_markup", &rm); err != nil || rm["inline_keyboard"] == nil {
		t.Errorf("reply_markup = %s", calls[1].Params["reply_markup"])
	}
	// Unknown method and wrong token.
	resp, _ = http.Post(base+"noSuchMethod", "application/json", strings.NewReader(`{}`))
	if resp.StatusCode != 404 {
		t.Errorf("unknown method status = %d", resp.StatusCode)
	}
	resp.Body.Close()
	resp, _ = http.Post(s.URL()+"/bot1:wrong/getMe", "application/json", nil)
	if resp.StatusCode != 401 {
		t.Errorf("wrong token status = %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestGetUpdatesOffsetAndLongPoll(t *testing.T) {
	s := New(t)
	base := s.URL() + "/bot" + s.Token() + "/getUpdates"
	get := func(body string) []models.Update {
		t.Helper()
		resp, err := http.Post(base, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			OK     bool            `json:"ok"`
			Result []models.Update `json:"result"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.OK {
			t.Fatalf("getUpdates: %v %+v", err, out)
		}
		return out.Result
	}
	if err := s.Push(models.Update{ID: 11, Message: &models.Message{ID: 1, Text: "b"}},
		`{"update_id":10,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"text":"a"}}`); err != nil {
		t.Fatal(err)
	}
	if got := get(`{}`); len(got) != 2 || got[0].ID != 10 || got[1].ID != 11 {
		t.Fatalf("first poll = %+v", got)
	}
	// Without a higher offset nothing is confirmed: the same batch again.
	if got := get(`{"offset":10}`); len(got) != 2 {
		t.Fatalf("re-poll = %d updates", len(got))
	}
	if got := get(`{"offset":11}`); len(got) != 1 || got[0].ID != 11 {
		t.Fatalf("after confirming 10 = %+v", got)
	}
	if s.Confirmed() != 11 || len(s.Pending()) != 1 {
		t.Errorf("confirmed = %d pending = %v", s.Confirmed(), s.Pending())
	}
	// Long poll: an update pushed while waiting is returned at once.
	var wg sync.WaitGroup
	var got []models.Update
	wg.Go(func() { got = get(`{"offset":12,"timeout":10}`) })
	time.Sleep(100 * time.Millisecond)
	_ = s.Push(models.Update{ID: 12})
	wg.Wait()
	if len(got) != 1 || got[0].ID != 12 {
		t.Errorf("long poll = %+v", got)
	}
	// With a webhook set, getUpdates conflicts like the real API.
	resp, _ := http.Post(s.URL()+"/bot"+s.Token()+"/setWebhook", "application/json", strings.NewReader(`{"url":"https://x.example/hook"}`))
	resp.Body.Close()
	resp, _ = http.Post(base, "application/json", strings.NewReader(`{}`))
	if resp.StatusCode != 409 {
		t.Errorf("getUpdates with webhook: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestHangAndWait(t *testing.T) {
	s := New(t)
	s.Hang(1, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/bot"+s.Token()+"/sendMessage",
		strings.NewReader(`{"chat_id":1,"text":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("hanging call returned")
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Errorf("returned after %v", time.Since(start))
	}
	if _, err := s.WaitUntil(func([]Call) bool { return false }, 100*time.Millisecond); err == nil {
		t.Error("WaitUntil(false) did not time out")
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		resp, err := http.Post(s.URL()+"/bot"+s.Token()+"/sendMessage", "application/json", strings.NewReader(`{"chat_id":1,"text":"x"}`))
		if err == nil {
			resp.Body.Close()
		}
	}()
	if calls, err := s.WaitForMethod("sendMessage", 1, 2*time.Second); err != nil || len(calls) != 1 {
		t.Errorf("WaitForMethod = %d, %v", len(calls), err)
	}
}

// TestOnCall: a watcher learns of each call, with the message id the answer
// carries, before the client has the answer; with NoLog the fake itself
// keeps nothing.
func TestOnCall(t *testing.T) {
	var mu sync.Mutex
	var seen []Call
	s := NewServer(Options{OnCall: func(c Call) {
		mu.Lock()
		seen = append(seen, c)
		mu.Unlock()
	}, NoLog: true})
	defer s.Close()
	base := s.URL() + "/bot" + s.Token() + "/"
	post := func(method, body string) (id int) {
		t.Helper()
		resp, err := http.Post(base+method, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 0 {
			t.Fatalf("%s answered before OnCall saw it", method)
		}
		var out struct {
			Result struct {
				MessageID int `json:"message_id"`
			} `json:"result"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out.Result.MessageID
	}
	sent := post("sendMessage", `{"chat_id":5,"text":"hi"}`)
	post("editMessageReplyMarkup", `{"chat_id":5,"message_id":`+strconv.Itoa(sent)+`}`)
	post("sendMessage", `{"chat_id":5}`) // no text: 400
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("OnCall saw %d calls, want 3", len(seen))
	}
	if c := seen[0]; c.Method != "sendMessage" || !c.OK || c.MessageID != sent || sent == 0 || c.Str("text") != "hi" {
		t.Errorf("send seen as %+v (answered message %d)", c, sent)
	}
	if c := seen[1]; c.MessageID != sent {
		t.Errorf("edit seen with message %d, want %d", c.MessageID, sent)
	}
	if c := seen[2]; c.OK || c.Status != 400 || c.MessageID != 0 {
		t.Errorf("rejected send seen as %+v", c)
	}
	if n := len(s.Calls()); n != 0 {
		t.Errorf("NoLog kept %d calls", n)
	}
}

// TestDeletes: deleteMessages takes 1–100 IDs and is recorded with them;
// deleteForumTopic needs a topic.
func TestDeletes(t *testing.T) {
	s := New(t)
	base := s.URL() + "/bot" + s.Token() + "/"
	post := func(method, body string) int {
		t.Helper()
		resp, err := http.Post(base+method, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = strconv.Itoa(i + 1)
	}
	for body, want := range map[string]int{
		`{"chat_id":5,"message_ids":[3,1,2]}`: 200,
		`{"chat_id":5,"message_ids":[]}`:      400,
		`{"chat_id":5}`:                       400,
		`{"message_ids":[1]}`:                 400,
		`{"chat_id":5,"message_ids":[` + strings.Join(many, ",") + `]}`: 400,
	} {
		if got := post("deleteMessages", body); got != want {
			t.Errorf("deleteMessages %s = %d, want %d", body, got, want)
		}
	}
	ok := s.Delivered("deleteMessages")
	if len(ok) != 1 || ok[0].ChatID != 5 || !slices.Equal(ok[0].Ints("message_ids"), []int{3, 1, 2}) {
		t.Errorf("delivered deleteMessages = %+v", ok)
	}
	if got := post("deleteForumTopic", `{"chat_id":-100,"message_thread_id":7}`); got != 200 {
		t.Errorf("deleteForumTopic = %d", got)
	}
	if got := post("deleteForumTopic", `{"chat_id":-100}`); got != 400 {
		t.Errorf("deleteForumTopic without a topic = %d", got)
	}
}
