package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"putokaz/internal/engine"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/testkit/testlog"
	"putokaz/internal/unlink"
)

// exitConv answers /exit with a quick exit and one line, /delete with an
// erasure (it unlinks the person's keys as the session store does), and
// anything else with two messages.
func exitConv(e **testEnv) funcConv {
	return func(ctx context.Context, user string, in engine.Input) ([]engine.Message, error) {
		switch {
		case in.Kind == engine.InCommand && in.Command == "exit", in.Kind == engine.InButton && in.Data == "exit":
			if !QuickExit(ctx) {
				return nil, fmt.Errorf("no quick exit outside an update")
			}
			return reply("Deleted. To delete the chat too: hold it in the list, then Delete."), nil
		case in.Kind == engine.InCommand && in.Command == "delete":
			if (*e).rdb != nil {
				if _, err := unlink.Matching(ctx, (*e).rdb, (*e).keys.UserPattern(user)); err != nil {
					return nil, err
				}
			}
			Erased(ctx)
			return reply("erased"), nil
		}
		return []engine.Message{{Text: "one " + in.Text, Lang: "en"}, {Text: "two", Lang: "en"}}, nil
	}
}

// sentTo lists the message IDs the fake created in chat.
func sentTo(api *botapitest.Server, chat int64) []int {
	var ids []int
	for _, c := range api.ByChat(chat) {
		if c.OK && c.MessageID != 0 && (c.Method == "sendMessage" || c.Method == "copyMessage") {
			ids = append(ids, c.MessageID)
		}
	}
	return ids
}

// TestE2EQuickExit: a conversation, another chat's, then /exit through the
// webhook: deleteMessages carries exactly the IDs of that chat's messages —
// the person's, the bot's, the /exit itself, a staff reply sent outside an
// update — in batches of at most 100, before the one-line answer; then the
// chat's record holds only that answer.
func TestE2EQuickExit(t *testing.T) {
	for _, memory := range []bool{false, true} {
		t.Run(map[bool]string{false: "redis", true: "memory"}[memory], func(t *testing.T) {
			var e *testEnv
			e = newEnv(t, envOpts{conv: exitConv(&e), memory: memory})
			const chat, other = 5101, 5102
			var mine []int
			upd := int64(100000)
			for i := range 40 {
				upd++
				if code, _ := e.post(textUpdate(upd, chat, fmt.Sprint("hello ", i))); code != 200 {
					t.Fatalf("status %d", code)
				}
				mine = append(mine, int(upd))
				upd++
				if code, _ := e.post(textUpdate(upd, other, "other")); code != 200 {
					t.Fatalf("status %d", code)
				}
			}
			// A staff reply reaches the person outside any update.
			if err := e.sender.Send(t.Context(), chat, 0, engine.Message{Text: "from staff"}); err != nil {
				t.Fatal(err)
			}
			mine = append(mine, sentTo(e.api, chat)...)
			upd++
			e.api.Reset()
			if code, _ := e.post(commandUpdate(upd, chat, "/exit", 0, 5)); code != 200 {
				t.Fatalf("/exit status %d", code)
			}
			mine = append(mine, int(upd))
			calls := e.api.Calls()
			var deleted []int
			answered := -1
			for i, c := range calls {
				switch {
				case c.Method == "deleteMessages":
					if c.ChatID != chat {
						t.Errorf("deleteMessages in chat %d", c.ChatID)
					}
					if answered >= 0 {
						t.Errorf("deleteMessages after the answer")
					}
					ids := c.Ints("message_ids")
					if len(ids) > 100 {
						t.Errorf("a batch of %d ids", len(ids))
					}
					deleted = append(deleted, ids...)
				case c.Method == "sendMessage" && c.ChatID == chat:
					answered = i
				}
			}
			slices.Sort(deleted)
			slices.Sort(mine)
			if !slices.Equal(deleted, mine) {
				t.Errorf("deleted %d ids %v\nwant %d ids %v", len(deleted), deleted, len(mine), mine)
			}
			if n := len(e.api.CallsTo("deleteMessages")); n != 2 {
				t.Errorf("deleteMessages calls = %d, want 2 (%d ids)", n, len(mine))
			}
			if answered < 0 || !strings.HasPrefix(calls[answered].Str("text"), "Deleted.") {
				t.Fatalf("no one-line answer after the deletion")
			}
			// The deleted IDs are forgotten: the record holds the answer.
			left, err := e.srv.d.state.messages(t.Context(), chatKey(chat))
			if err != nil || !slices.Equal(left, []int{calls[answered].MessageID}) {
				t.Errorf("record after the exit = %v, %v; want [%d]", left, err, calls[answered].MessageID)
			}
			if got := e.counter(e.srv.m.quickExitMessages.WithLabelValues("deleted")); got != float64(len(mine)) {
				t.Errorf("deleted messages counted = %v, want %d", got, len(mine))
			}
			if testlog.Names(e.logBuf.String(), "hello") || testlog.Names(e.logBuf.String(), "5101") {
				t.Errorf("logs name the chat or quote it:\n%s", e.logBuf.String())
			}
		})
	}
}

// TestE2EQuickExitButtonAndRefusal: the exit button deletes the message that
// carries it too; Telegram refusing (too old) is logged without content,
// counted, and the answer still comes.
func TestE2EQuickExitButtonAndRefusal(t *testing.T) {
	var e *testEnv
	e = newEnv(t, envOpts{conv: exitConv(&e)})
	const chat = 5201
	if code, _ := e.post(textUpdate(2001, chat, "secret words")); code != 200 {
		t.Fatalf("status %d", code)
	}
	e.api.Fail(botapitest.Fault{Method: "deleteMessages", Times: 1, Status: 400,
		Description: "Bad Request: message can't be deleted for everyone"})
	if code, _ := e.post(callbackUpdate(2002, chat, "exit")); code != 200 {
		t.Fatalf("status %d", code)
	}
	calls := e.api.CallsTo("deleteMessages")
	if len(calls) != 1 || !slices.Contains(calls[0].Ints("message_ids"), 7) || !slices.Contains(calls[0].Ints("message_ids"), 2001) {
		t.Fatalf("deleteMessages = %+v (want the button's message 7 and the person's 2001)", calls)
	}
	if got := e.counter(e.srv.m.quickExitMessages.WithLabelValues("refused")); got != 4 {
		t.Errorf("refused counted = %v, want 4 (the person's, the reply's two, the button's)", got)
	}
	if !strings.Contains(e.logBuf.String(), "can't be deleted") || strings.Contains(e.logBuf.String(), "secret") {
		t.Errorf("log:\n%s", e.logBuf.String())
	}
	if len(e.api.Delivered("sendMessage")) != 3 {
		t.Errorf("the answer after a refused deletion is missing")
	}
	// Refused IDs are forgotten: they will never be deletable.
	left, _ := e.srv.d.state.messages(t.Context(), chatKey(chat))
	if len(left) != 1 {
		t.Errorf("record = %v, want only the answer", left)
	}
}

// TestQuickExitNotDelayedByPacing: the chat's limiter is exhausted by
// replies still going out (a slow private rate); deleteMessages does not
// queue behind them.
func TestQuickExitNotDelayedByPacing(t *testing.T) {
	lim := testLimits()
	lim.PrivatePerSecond, lim.PrivateBurst = 0.5, 1
	var e *testEnv
	e = newEnv(t, envOpts{conv: exitConv(&e), limits: &lim})
	const chat = 5301
	// Queue a staff message behind an exhausted bucket: it waits ~2 s.
	if err := e.sender.Send(t.Context(), chat, 0, engine.Message{Text: "first"}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.sender.Send(context.Background(), chat, 0, engine.Message{Text: "queued"}) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.post(commandUpdate(3001, chat, "/exit", 0, 5))
	}()
	if _, err := e.api.WaitForMethod("deleteMessages", 1, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("deleteMessages went out after %v: it waited for the chat's pacing", d)
	}
	<-done
}

// TestOutsideAnUpdate: QuickExit and Erased report false where there is no
// update to mark; Effects passes other effects on and never QuickExit.
func TestOutsideAnUpdate(t *testing.T) {
	if QuickExit(t.Context()) || Erased(t.Context()) {
		t.Error("marked outside an update")
	}
	var got []engine.EffectKind
	next := effectFunc(func(_ context.Context, _, _ string, fx engine.Effect) error {
		got = append(got, fx.Kind)
		return nil
	})
	m := &updateMarks{chatID: 1}
	ctx := withMarks(t.Context(), m)
	fx := Effects(next)
	for _, k := range []engine.EffectKind{engine.EffectQuickExit, engine.EffectErase, engine.EffectReferral} {
		if err := fx.Apply(ctx, "tg:1", "en", engine.Effect{Kind: k}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, []engine.EffectKind{engine.EffectErase, engine.EffectReferral}) {
		t.Errorf("passed on %v", got)
	}
	if q, erased, _ := m.state(); !q || !erased {
		t.Errorf("marks = %v %v", q, erased)
	}
}

type effectFunc func(ctx context.Context, user, lang string, fx engine.Effect) error

func (f effectFunc) Apply(ctx context.Context, user, lang string, fx engine.Effect) error {
	return f(ctx, user, lang, fx)
}

// TestErasureLeavesNothing: after an update that erased its person, no key
// under the prefix names the chat — not its dedupe set, nor the message
// record, nor the lease — and the update delivered again is still not
// handled twice (its mark is keyed by update_id alone).
func TestErasureLeavesNothing(t *testing.T) {
	rdb, k := redistest.New(t)
	var e *testEnv
	e = newEnv(t, envOpts{conv: exitConv(&e), rdb: rdb, keys: &k})
	const chat = 5401
	for i := range 3 {
		if code, _ := e.post(textUpdate(int64(4001+i), chat, "hi")); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	if code, _ := e.post(commandUpdate(4010, chat, "/delete", 0, 7)); code != 200 {
		t.Fatalf("status %d", code)
	}
	ctx := t.Context()
	ks, err := rdb.Keys(ctx, k.PrefixPattern()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range ks {
		if strings.Contains(key, "5401") {
			t.Errorf("key %q names the chat after the erasure", key)
		}
	}
	// Besides the erased update's mark, only the process's heartbeat
	// (global, names no chat) may remain.
	ks = slices.DeleteFunc(ks, func(key string) bool { return strings.HasPrefix(key, k.Instance("")) })
	if len(ks) != 1 || ks[0] != k.UpdateErased(4010) {
		t.Errorf("keys left = %v, want only the erased update's mark", ks)
	}
	if ttl := rdb.PTTL(ctx, k.UpdateErased(4010)).Val(); ttl <= 0 {
		t.Errorf("erased mark TTL = %v", ttl)
	}
	before := len(e.api.Delivered("sendMessage"))
	if code, _ := e.post(commandUpdate(4010, chat, "/delete", 0, 7)); code != 200 {
		t.Fatalf("re-delivery status %d", code)
	}
	if got := e.counter(e.srv.m.dedupeHits); got != 1 || len(e.api.Delivered("sendMessage")) != before {
		t.Errorf("the erasing update was handled again (dedupe hits %v)", got)
	}
	if ks, _ := rdb.Keys(ctx, k.UserPattern(chatKey(chat))).Result(); len(ks) != 0 {
		t.Errorf("the re-delivery left %v", ks)
	}
}
