package announce

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/content"
	"putokaz/internal/keys"
)

// memSubs is an in-memory subscription store with the contract of
// internal/subscribe (C1) as far as the sender uses it.
type memSubs struct {
	mu   sync.Mutex
	subs map[string]map[string]string // user -> topic -> lang
}

func newMemSubs() *memSubs { return &memSubs{subs: map[string]map[string]string{}} }

func (m *memSubs) add(user, topic, lang string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subs[user] == nil {
		m.subs[user] = map[string]string{}
	}
	m.subs[user][topic] = lang
}

func (m *memSubs) users(topic, lang string) []string {
	var out []string
	for u, ts := range m.subs {
		if l, ok := ts[topic]; ok && l == lang {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

func (m *memSubs) Count(_ context.Context, topic, lang string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.users(topic, lang)), nil
}

func (m *memSubs) Page(_ context.Context, topic, lang, cursor string, n int) ([]string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := m.users(topic, lang)
	from := 0
	if cursor != "" {
		from, _ = strconv.Atoi(cursor)
	}
	to := min(from+n, len(all))
	next := ""
	if to < len(all) {
		next = strconv.Itoa(to)
	}
	return all[from:to], next, nil
}

func (m *memSubs) Remove(_ context.Context, user, topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if topic == "" {
		delete(m.subs, user)
	} else {
		delete(m.subs[user], topic)
	}
	return nil
}

func (m *memSubs) has(user string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs[user]) > 0
}

// fakeDeliverer records every message; blocked people answer ErrBlocked;
// hold, when set, is called before each send (to stall or count).
type fakeDeliverer struct {
	mu      sync.Mutex
	got     map[string][]string
	blocked map[string]bool
	hold    func(ctx context.Context, user string) error
}

func newFakeDeliverer() *fakeDeliverer {
	return &fakeDeliverer{got: map[string][]string{}, blocked: map[string]bool{}}
}

func (d *fakeDeliverer) Deliver(ctx context.Context, user, text string, ready func() error) error {
	if err := ready(); err != nil {
		return err
	}
	if d.hold != nil {
		if err := d.hold(ctx, user); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.blocked[user] {
		return fmt.Errorf("telegram sendMessage: 403: %w", ErrBlocked)
	}
	d.got[user] = append(d.got[user], text)
	return nil
}

func (d *fakeDeliverer) received() map[string][]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string][]string{}
	for k, v := range d.got {
		out[k] = slices.Clone(v)
	}
	return out
}

// loadContent loads the built-in content once for the package's tests.
func loadContent(t testing.TB) *content.Content {
	t.Helper()
	c, diags := builtIn()
	if c == nil {
		t.Fatalf("content: %v", diags.Errors())
	}
	return c
}

var builtIn = sync.OnceValues(func() (*content.Content, content.Diags) { return content.Load(content.Embedded()) })

var testTexts = map[string]string{"en": "EN text", "sr-Cyrl": "SR text", "sr-Latn": "SRL text", "ar": "AR text", "fa": "FA text"}

// queue queues and approves (by two editors) an update of topic shelter.
func queueApproved(t *testing.T, q *Queue, id string, expires time.Time) {
	t.Helper()
	ctx := t.Context()
	if _, err := q.Add(ctx, id, []string{"shelter"}, expires, testTexts, "Ana"); err != nil {
		t.Fatal(err)
	}
	if q.approvals > 1 {
		if _, err := q.Approve(ctx, id, "Marko"); err != nil {
			t.Fatal(err)
		}
	}
}

func newWorker(q *Queue, s Subscribers, d Deliverer) *Worker {
	return &Worker{Queue: q, Subscribers: s, Deliverer: d, Rate: 1000, InFlight: 1, LeaseTTL: 600 * time.Millisecond, Poll: 20 * time.Millisecond}
}

// subscribe adds n subscribers of shelter, spread over the languages.
func subscribe(s *memSubs, n int) {
	langs := []string{"en", "sr-Cyrl", "sr-Latn", "ar", "fa"}
	for i := range n {
		s.add(fmt.Sprintf("tg:%d", 1000+i), "shelter", langs[i%len(langs)])
	}
}

// runUntil runs w.Once until the update ends or the time is up.
func runUntil(t *testing.T, w *Worker, id string, want State) Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := w.Once(t.Context()); err != nil {
			t.Fatal(err)
		}
		st, err := w.Queue.Status(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("update %s is %s (paused %v), want %s: %+v", id, st.State, st.Paused, want, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// personalKeys are the keys of an announcement that hold user keys.
func personalKeys(k keys.Keys, id string) []string {
	a := k.Announce()
	return []string{a.Recipients(id), a.Seen(id), a.Marks(id), a.Claimed(id), a.Sending(id), a.Requeued(id)}
}

func countKeys(t *testing.T, rdb redis.UniversalClient, ks []string) int64 {
	t.Helper()
	n, err := rdb.Exists(t.Context(), ks...).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newClient is another connection to the test Redis (REDIS_URL), closed
// when the test ends.
func newClient(t *testing.T) redis.UniversalClient {
	t.Helper()
	opts, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
