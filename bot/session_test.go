package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/store"
	"putokaz/internal/testkit/botapitest"
	"putokaz/internal/testkit/redistest"
)

// countingConv keeps a counter per person in the session the transport read
// with the lease, and replies with its new value.
type countingConv struct{}

func (countingConv) HandleSession(_ context.Context, _ string, sess *conversation.Session, _ engine.Input) ([]engine.Message, error) {
	if sess == nil {
		return nil, errors.New("no session read with the lease")
	}
	n, _ := strconv.Atoi(string(sess.Load()))
	n++
	sess.Stage([]byte(strconv.Itoa(n)))
	return []engine.Message{{Text: strconv.Itoa(n)}}, nil
}

// TestE2ESessionRidesOnTheLease: two servers share Redis and receive
// interleaved, concurrent (and re-sent) updates of the same chats. With the
// session read and written by the lease's own scripts, no update's state
// change is lost or applied twice: each chat counts exactly its updates, and
// its replies are 1, 2, 3, … in order.
func TestE2ESessionRidesOnTheLease(t *testing.T) {
	api := botapitest.New(t)
	rdb, k := redistest.New(t)
	conv := countingConv{}
	a := newEnv(t, envOpts{conv: conv, api: api, rdb: rdb, keys: &k})
	b := newEnv(t, envOpts{conv: conv, api: api, rdb: rdb, keys: &k})
	const chats, perChat = 4, 15
	var wg sync.WaitGroup
	id := int64(5000)
	for i := range perChat {
		for c := range chats {
			id++
			u := textUpdate(id, int64(900+c), "x")
			// Each update to one server, every third also to the other.
			targets := []*testEnv{a}
			if (i+c)%2 == 1 {
				targets[0] = b
			}
			if i%3 == 0 {
				targets = append(targets, a, b)
			}
			for _, env := range targets {
				wg.Go(func() {
					for attempt := 0; attempt < 50; attempt++ {
						if code, _ := env.post(u); code == 200 {
							return
						}
						time.Sleep(10 * time.Millisecond)
					}
					t.Errorf("update never answered 200")
				})
			}
		}
	}
	wg.Wait()
	ctx := context.Background()
	for c := range chats {
		chat := int64(900 + c)
		got, err := rdb.Get(ctx, k.Session(fmt.Sprintf("tg:%d", chat))).Result()
		if err != nil || got != strconv.Itoa(perChat) {
			t.Errorf("chat %d: stored counter %q (%v), want %d", chat, got, err, perChat)
		}
		var replies []string
		for _, call := range api.ByChat(chat) {
			if call.Method == "sendMessage" {
				replies = append(replies, call.Str("text"))
			}
		}
		for i, r := range replies {
			if r != strconv.Itoa(i+1) {
				t.Fatalf("chat %d: replies %v, want 1…%d once each, in order", chat, replies, perChat)
			}
		}
		if len(replies) != perChat {
			t.Errorf("chat %d: %d replies, want %d", chat, len(replies), perChat)
		}
	}
	if d := a.counter(a.srv.m.dedupeHits) + b.counter(b.srv.m.dedupeHits); d == 0 {
		t.Error("no update was delivered twice: the test did not test deduplication")
	}
}

// TestRunnerSessionRidesOnTheLease: the conversation core as serve wires it
// (conversation.Runner over the Redis store) on the real webhook. Its
// session is read and written by the lease's scripts: two Redis round trips
// per update in all, the session stored with the configured TTL — and /delete
// still erases at once through the store.
func TestRunnerSessionRidesOnTheLease(t *testing.T) {
	rdb, k := redistest.New(t)
	sessions, err := store.NewRedis(rdb, k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	conv := conversation.New(sessions, engine.New(time.Now, func() uint64 { return 7 }),
		content.NewHolder(builtinContent(t)), Effects(nil), nil)
	lim := testLimits()
	lim.SessionTTL = 90 * time.Minute
	h := &redistest.CountingHook{}
	rdb.AddHook(skipHeartbeat{})
	rdb.AddHook(h)
	e := newEnv(t, envOpts{conv: conv, rdb: rdb, keys: &k, limits: &lim})
	const chat = 931
	key := k.Session(fmt.Sprintf("tg:%d", chat))
	sends := func() (n int64) {
		for _, c := range e.api.ByChat(chat) {
			if strings.HasPrefix(c.Method, "send") {
				n++
			}
		}
		return n
	}
	if code, _ := e.post(textUpdate(1, chat, "hello")); code != 200 { // loads the scripts
		t.Fatalf("status %d", code)
	}
	for i, u := range []string{
		callbackUpdate(2, chat, "L:en"),
		textUpdate(3, chat, "police"),
		textUpdate(4, chat, "shelter"),
		commandUpdate(5, chat, "/delete", 0, 7),
	} {
		before, sent := rdb.Get(t.Context(), key).Val(), sends()
		h.Reset()
		if code, _ := e.post(u); code != 200 {
			t.Fatalf("update %d: status %d", i+2, code)
		}
		// One more for each message after the first (recover_progress.go).
		if want := 1 + sends() - sent; h.Count() != want {
			t.Errorf("update %d: Redis round trips = %d (%v), want %d", i+2, h.Count(), h.Commands(), want)
		}
		if after := rdb.Get(t.Context(), key).Val(); after == "" || after == before {
			t.Errorf("update %d: the session was not written (%q)", i+2, after)
		}
		if ttl := rdb.PTTL(t.Context(), key).Val(); ttl <= time.Hour || ttl > lim.SessionTTL {
			t.Errorf("update %d: session TTL %v, want the transport's %v", i+2, ttl, lim.SessionTTL)
		}
	}
	var yes string
	for _, c := range e.api.ByChat(chat) {
		var kb struct {
			Rows [][]struct {
				Text string `json:"text"`
				Data string `json:"callback_data"`
			} `json:"inline_keyboard"`
		}
		if c.Decode("reply_markup", &kb) == nil {
			for _, row := range kb.Rows {
				for _, b := range row {
					if b.Text == "Yes, erase" {
						yes = b.Data
					}
				}
			}
		}
	}
	if yes == "" {
		t.Fatal("/delete asked nothing")
	}
	if code, _ := e.post(callbackUpdate(6, chat, yes)); code != 200 {
		t.Fatalf("erase: status %d", code)
	}
	if n := rdb.Exists(t.Context(), key).Val(); n != 0 {
		t.Error("erasing left the session")
	}
}

// stallConv stages "stale" in the person's session once released: a handler
// that stalled (a paused process) while its lease was lost.
type stallConv struct {
	reached chan struct{}
	release chan struct{}
}

func (c stallConv) HandleSession(_ context.Context, _ string, sess *conversation.Session, _ engine.Input) ([]engine.Message, error) {
	c.reached <- struct{}{}
	<-c.release
	sess.Stage([]byte("stale"))
	return []engine.Message{{Text: "stale"}}, nil
}

// TestStalledHandlerCannotOverwriteNewerSession: another replica takes the
// chat's lease while a handler is stalled and saves a newer session; the
// stalled handler's write (with the update's end) is refused, so the newer
// state stays, and its update is left to be delivered again.
func TestStalledHandlerCannotOverwriteNewerSession(t *testing.T) {
	rdb, k := redistest.New(t)
	conv := stallConv{reached: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, envOpts{conv: conv, rdb: rdb, keys: &k})
	const chat = 932
	ctx := t.Context()
	key, lease := k.Session(fmt.Sprintf("tg:%d", chat)), k.ChatLease(chatKey(chat))
	code := make(chan int, 1)
	go func() {
		c, _ := e.post(textUpdate(1, chat, "x"))
		code <- c
	}()
	<-conv.reached
	// Another replica took the chat over (our lease expired) and saved.
	if err := rdb.Set(ctx, lease, "another-replica", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, key, "newer", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	close(conv.release)
	if c := <-code; c == 200 {
		t.Error("the stalled handler's update was answered 200: it must be delivered again")
	}
	if got := rdb.Get(ctx, key).Val(); got != "newer" {
		t.Errorf("session = %q: a handler that lost its lease overwrote newer state", got)
	}
	if rdb.SIsMember(ctx, k.ChatDone(chatKey(chat)), "1").Val() {
		t.Error("the stalled handler's update was marked done")
	}
}
