package conversation_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/store"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/redistest"
)

// recorder is an EffectHandler that records effects and can fail.
type recorder struct {
	mu    sync.Mutex
	fx    []engine.Effect
	fail  error
	taken map[string]bool
}

func (r *recorder) Apply(_ context.Context, user, lang string, fx engine.Effect) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if fx.Kind == engine.EffectReferral && r.taken[fx.Code] {
		return conversation.ErrCodeTaken
	}
	r.fx = append(r.fx, fx)
	return nil
}

type statuses map[string]string

func (s statuses) ReferralStatus(_ context.Context, user, code string) (string, error) {
	return s[user+"/"+code], nil
}

func newRunner(t *testing.T, sessions conversation.Sessions, fx conversation.EffectHandler) *conversation.Runner {
	t.Helper()
	var n uint64
	e := engine.New(func() time.Time { return time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC) },
		func() uint64 { n += 7919; return n })
	return conversation.New(sessions, e, content.NewHolder(contenttest.Load(t)), fx, nil)
}

func memory(t *testing.T) *store.Memory {
	m, err := store.NewMemory(time.Hour, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func say(t *testing.T, s *conversation.Runner, user string, in engine.Input) []engine.Message {
	t.Helper()
	msgs, err := s.Handle(context.Background(), user, in)
	if err != nil {
		t.Fatalf("%+v: %v", in, err)
	}
	return msgs
}

func button(t *testing.T, msgs []engine.Message, label string) engine.Input {
	t.Helper()
	for _, m := range msgs {
		for _, b := range m.Buttons {
			if strings.Contains(b.Label, label) {
				return engine.Input{Kind: engine.InButton, Data: b.Data}
			}
		}
	}
	t.Fatalf("no button %q", label)
	return engine.Input{}
}

// TestTwoRoundTripsPerInput counts the commands sent to a real Redis: one
// GET and one SET per input, whatever the input.
func TestTwoRoundTripsPerInput(t *testing.T) {
	rdb, k := redistest.New(t)
	hook := &redistest.CountingHook{}
	rdb.AddHook(hook)
	sessions, err := store.NewRedis(rdb, k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := newRunner(t, sessions, nil)
	msgs := say(t, s, "tg:1", engine.Input{Kind: engine.InButton, Data: "L:en"})
	for _, in := range []engine.Input{
		button(t, msgs, "Ask me"),
		{Kind: engine.InText, Text: "Ana"},
		{Kind: engine.InCommand, Command: "menu"},
		{Kind: engine.InText, Text: "police"},
		{Kind: engine.InMedia, Media: "sticker"},
	} {
		hook.Reset()
		say(t, s, "tg:1", in)
		if got := hook.Count(); got != 2 {
			t.Errorf("%+v: %d round trips (%v), want 2", in, got, hook.Commands())
		}
	}
}

func TestEffectsBeforeSaveAndFailureSavesNothing(t *testing.T) {
	mem := memory(t)
	fx := &recorder{}
	s := newRunner(t, mem, fx)
	msgs := say(t, s, "u", engine.Input{Kind: engine.InButton, Data: "L:en"})
	msgs = say(t, s, "u", button(t, msgs, "Refer me"))
	msgs = say(t, s, "u", button(t, msgs, "common.referral.yes"))
	say(t, s, "u", engine.Input{Kind: engine.InText, Text: "Niš"})
	before, _ := mem.Load(context.Background(), "u")

	// The referral cannot be stored: the person is not told a code, and the
	// session stays where it was, so the same answer can be sent again.
	fx.fail = errors.New("redis down")
	if _, err := s.Handle(context.Background(), "u", engine.Input{Kind: engine.InText, Text: "+381 60 1234567"}); err == nil {
		t.Fatal("no error when the referral could not be stored")
	}
	after, _ := mem.Load(context.Background(), "u")
	if string(before) != string(after) {
		t.Fatal("session changed although the input failed")
	}
	fx.fail = nil
	msgs = say(t, s, "u", engine.Input{Kind: engine.InText, Text: "+381 60 1234567"})
	if len(fx.fx) != 2 || fx.fx[1].Kind != engine.EffectReferral || fx.fx[1].Vars["phone"] != "+381601234567" {
		t.Fatalf("effects: %+v", fx.fx)
	}
	if !strings.Contains(msgs[0].Text, fx.fx[1].Code) {
		t.Fatalf("the person was told another code: %q vs %s", msgs[0].Text, fx.fx[1].Code)
	}
}

func TestReferralWithoutHandlerIsRefused(t *testing.T) {
	s := newRunner(t, memory(t), nil)
	msgs := say(t, s, "u", engine.Input{Kind: engine.InButton, Data: "L:en"})
	msgs = say(t, s, "u", button(t, msgs, "Refer me"))
	msgs = say(t, s, "u", button(t, msgs, "common.referral.yes"))
	say(t, s, "u", engine.Input{Kind: engine.InText, Text: "Niš"})
	_, err := s.Handle(context.Background(), "u", engine.Input{Kind: engine.InText, Text: "+381601234567"})
	if !errors.Is(err, conversation.ErrNoHandler) {
		t.Fatalf("err = %v, want ErrNoHandler", err)
	}
}

func TestTakenCodeIsReplaced(t *testing.T) {
	fx := &recorder{taken: map[string]bool{}}
	s := newRunner(t, memory(t), fx)
	msgs := say(t, s, "u", engine.Input{Kind: engine.InButton, Data: "L:en"})
	msgs = say(t, s, "u", button(t, msgs, "Refer me"))
	msgs = say(t, s, "u", button(t, msgs, "common.referral.yes"))
	say(t, s, "u", engine.Input{Kind: engine.InText, Text: "Niš"})
	// The code drawn at consent turns out to be someone else's.
	fx.taken[codeAfter(t, s)] = true
	msgs = say(t, s, "u", engine.Input{Kind: engine.InText, Text: "+381601234567"})
	got := fx.fx[len(fx.fx)-1]
	if got.Kind != engine.EffectReferral || fx.taken[got.Code] || !strings.Contains(msgs[0].Text, got.Code) {
		t.Fatalf("effect %+v, message %q", got, msgs[0].Text)
	}
}

// codeAfter reads the code drawn at consent from the stored session.
func codeAfter(t *testing.T, s *conversation.Runner) string {
	t.Helper()
	blob, err := s.SessionsForTest().Load(context.Background(), "u")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := engine.DecodeSession(blob)
	if err != nil || sess.Ref == nil || sess.Ref.Code == "" {
		t.Fatalf("no code in session: %v", err)
	}
	return sess.Ref.Code
}

func TestEraseDeletesSession(t *testing.T) {
	mem := memory(t)
	s := newRunner(t, mem, nil)
	say(t, s, "u", engine.Input{Kind: engine.InButton, Data: "L:en"})
	msgs := say(t, s, "u", engine.Input{Kind: engine.InCommand, Command: "delete"})
	say(t, s, "u", button(t, msgs, "common.delete.yes"))
	if blob, _ := mem.Load(context.Background(), "u"); blob != nil {
		t.Fatal("session still stored after /delete")
	}
}

func TestCorruptSessionStartsOver(t *testing.T) {
	mem := memory(t)
	if err := mem.Save(context.Background(), "u", []byte("\x00garbage")); err != nil {
		t.Fatal(err)
	}
	s := newRunner(t, mem, nil)
	msgs := say(t, s, "u", engine.Input{Kind: engine.InText, Text: "hello"})
	if !strings.Contains(msgs[0].Text, "common.reset") {
		t.Fatalf("no reset notice: %q", msgs[0].Text)
	}
	blob, _ := mem.Load(context.Background(), "u")
	if _, err := engine.DecodeSession(blob); err != nil {
		t.Fatalf("session not repaired: %v", err)
	}
}

func TestStatusIsLookedUpForThePersonOnly(t *testing.T) {
	s := newRunner(t, memory(t), nil)
	s.Statuses = statuses{"alice/PK-7F3Q": engine.StatusClaimed}
	say(t, s, "alice", engine.Input{Kind: engine.InButton, Data: "L:en"})
	say(t, s, "bob", engine.Input{Kind: engine.InButton, Data: "L:en"})
	if m := say(t, s, "alice", engine.Input{Kind: engine.InCommand, Command: "status", Arg: "pk-7f3q"}); !strings.Contains(m[0].Text, "common.status.claimed PK-7F3Q") {
		t.Fatalf("alice: %q", m[0].Text)
	}
	if m := say(t, s, "bob", engine.Input{Kind: engine.InCommand, Command: "status", Arg: "PK-7F3Q"}); !strings.Contains(m[0].Text, "common.status.unknown") {
		t.Fatalf("bob sees alice's referral: %q", m[0].Text)
	}
}

type replies map[string]string

func (r replies) ReplyCase(_ context.Context, user string, msgID int) (string, string, error) {
	if code := r[user+"/"+strconv.Itoa(msgID)]; code != "" {
		return code, "svc", nil
	}
	return "", "", nil
}

// A reply to a staff message of the person's open referral goes to that
// case; a reply to anything else (or by someone else) is an ordinary message.
func TestReplyIsLookedUpForThePersonOnly(t *testing.T) {
	rec := &recorder{}
	s := newRunner(t, memory(t), rec)
	s.Cases = replies{"alice/12": "PK-7F3Q"}
	say(t, s, "alice", engine.Input{Kind: engine.InButton, Data: "L:en"})
	say(t, s, "bob", engine.Input{Kind: engine.InButton, Data: "L:en"})
	rec.fx = nil
	say(t, s, "bob", engine.Input{Kind: engine.InText, Text: "hi", ReplyTo: 12})
	say(t, s, "alice", engine.Input{Kind: engine.InText, Text: "hi", ReplyTo: 11})
	if len(rec.fx) != 0 {
		t.Fatalf("replies to other messages relayed: %+v", rec.fx)
	}
	say(t, s, "alice", engine.Input{Kind: engine.InText, Text: "yes", ReplyTo: 12})
	if len(rec.fx) != 1 || rec.fx[0].Kind != engine.EffectRelay || rec.fx[0].Code != "PK-7F3Q" || rec.fx[0].Service != "svc" {
		t.Fatalf("reply to staff: %+v", rec.fx)
	}
}

// TestOneUserAtATime sends many inputs of one person concurrently: each
// must see the state the previous one saved (the keyboard counter grows by
// exactly one per input).
func TestOneUserAtATime(t *testing.T) {
	mem := memory(t)
	s := newRunner(t, mem, nil)
	say(t, s, "u", engine.Input{Kind: engine.InButton, Data: "L:en"})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Handle(context.Background(), "u", engine.Input{Kind: engine.InCommand, Command: "menu"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	blob, _ := mem.Load(context.Background(), "u")
	sess, _ := engine.DecodeSession(blob)
	if sess.Menu != 51 {
		t.Fatalf("keyboard counter %d, want 51: inputs overlapped", sess.Menu)
	}
}

// subsLookup answers which topics a person follows and counts the asks.
type subsLookup struct {
	topics map[string][]string
	asked  int
}

func (l *subsLookup) Subscribed(_ context.Context, user string) ([]string, error) {
	l.asked++
	return l.topics[user], nil
}

// The store of subscriptions is asked only when the session cannot know
// (no session: new, expired or unreadable) or the person asks about their
// subscriptions; an ordinary input costs nothing more.
func TestSubscriptionsAreLookedUpWhenTheSessionCannotKnow(t *testing.T) {
	s := newRunner(t, memory(t), nil)
	look := &subsLookup{topics: map[string][]string{"alice": {"sos"}}}
	s.Subscriptions = look
	say(t, s, "alice", engine.Input{Kind: engine.InButton, Data: "L:en"}) // no session yet
	if look.asked != 1 {
		t.Fatalf("a person without a session: asked %d times, want 1", look.asked)
	}
	say(t, s, "alice", engine.Input{Kind: engine.InCommand, Command: "menu"})
	say(t, s, "alice", engine.Input{Kind: engine.InText, Text: "hello"})
	if look.asked != 1 {
		t.Errorf("ordinary inputs asked the store (%d asks)", look.asked)
	}
	msgs := say(t, s, "alice", engine.Input{Kind: engine.InCommand, Command: "unsubscribe"})
	if look.asked != 2 {
		t.Errorf("/unsubscribe did not ask the store (%d asks)", look.asked)
	}
	button(t, msgs, "SOS") // the topic the store knows is listed
	say(t, s, "bob", engine.Input{Kind: engine.InButton, Data: "L:en"})
	if msgs := say(t, s, "bob", engine.Input{Kind: engine.InCommand, Command: "unsubscribe"}); !strings.Contains(msgs[0].Text, content.TextUnsubNone) {
		t.Errorf("bob sees alice's subscriptions: %q", msgs[0].Text)
	}
}

// HandleSession starts from the transport's session and stages the next one
// in it, without touching the store; an erasure unstages it and erases the
// store at once; a failed input stages nothing.
func TestHandleSessionStagesInsteadOfSaving(t *testing.T) {
	mem := memory(t)
	fx := &recorder{}
	s := newRunner(t, mem, fx)
	ctx := context.Background()
	handle := func(sess *conversation.Session, in engine.Input) []engine.Message {
		t.Helper()
		msgs, err := s.HandleSession(ctx, "u", sess, in)
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		return msgs
	}
	first := conversation.NewSession(nil)
	msgs := handle(first, engine.Input{Kind: engine.InButton, Data: "L:en"})
	blob, ok := first.Staged()
	if !ok || blob == nil {
		t.Fatal("nothing staged")
	}
	if mem.Len() != 0 {
		t.Fatal("HandleSession wrote the store")
	}
	next := conversation.NewSession(blob) // as the transport reads it back
	handle(next, button(t, msgs, "Ask me"))
	after, ok := next.Staged()
	if sess, err := engine.DecodeSession(after); !ok || err != nil || sess.Lang != "en" || sess.Flow == "" {
		t.Fatalf("staged %+v (%v), want the English flow that went on from the first session", sess, err)
	}

	fx.fail = errors.New("down")
	failed := conversation.NewSession(after)
	if _, err := s.HandleSession(ctx, "u", failed, engine.Input{Kind: engine.InText, Text: "police"}); err == nil {
		t.Fatal("the effect's failure was not reported")
	}
	if _, ok := failed.Staged(); ok {
		t.Error("a failed input staged a session")
	}
	fx.fail = nil

	if err := mem.Save(ctx, "u", after); err != nil { // as if another path had stored one
		t.Fatal(err)
	}
	erase := conversation.NewSession(after)
	msgs = handle(erase, engine.Input{Kind: engine.InCommand, Command: "delete"})
	confirm := conversation.NewSession(nil)
	if b, ok := erase.Staged(); ok {
		confirm = conversation.NewSession(b)
	}
	handle(confirm, button(t, msgs, "common.delete.yes"))
	if _, ok := confirm.Staged(); ok {
		t.Error("an erasure left a session staged")
	}
	if blob, _ := mem.Load(ctx, "u"); blob != nil {
		t.Error("an erasure left the stored session")
	}
}
