package bot

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"putokaz/bot/botapitest"
	"putokaz/internal/engine"
	"putokaz/internal/redistest"
	"putokaz/internal/store"
)

// countingConv keeps a counter per person in the real Redis session store
// (wired to SessionTx as serve wires it) and replies with its new value.
type countingConv struct{ sessions *store.Redis }

func (c countingConv) Handle(ctx context.Context, user string, _ engine.Input) ([]engine.Message, error) {
	blob, err := c.sessions.Load(ctx, user)
	if err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(string(blob))
	n++
	if err := c.sessions.Save(ctx, user, []byte(strconv.Itoa(n))); err != nil {
		return nil, err
	}
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
	sessions, err := store.NewRedis(rdb, k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sessions.Tx = func(ctx context.Context, key string) (store.SessionTx, bool) {
		if tx, ok := SessionTxFromContext(ctx, key); ok {
			return tx, true
		}
		return nil, false
	}
	conv := countingConv{sessions}
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
