package subscribe

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is a Store in process memory (the terminal chat, the playground,
// tests). Subscriptions expire like the Redis ones.
type Memory struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]map[string]memSub // user → topic → subscription
}

type memSub struct {
	lang string
	exp  int64
}

// NewMemory returns an empty store whose subscriptions last ttl.
func NewMemory(ttl time.Duration, now func() time.Time) *Memory {
	return &Memory{ttl: ttl, now: now, m: map[string]map[string]memSub{}}
}

var _ Store = (*Memory)(nil)

// Add implements Store.
func (s *Memory) Add(_ context.Context, user, topic, lang string) error {
	if err := check(user, topic, lang); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[user] == nil {
		s.m[user] = map[string]memSub{}
	}
	s.m[user][topic] = memSub{lang: lang, exp: s.now().Add(s.ttl).Unix()}
	return nil
}

// Remove implements Store.
func (s *Memory) Remove(_ context.Context, user, topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if topic == "" {
		delete(s.m, user)
		return nil
	}
	delete(s.m[user], topic)
	if len(s.m[user]) == 0 {
		delete(s.m, user)
	}
	return nil
}

// List implements Store.
func (s *Memory) List(_ context.Context, user string) ([]Sub, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Unix()
	var out []Sub
	for topic, sub := range s.m[user] {
		if sub.exp > now {
			out = append(out, Sub{Topic: topic, Lang: sub.lang})
		}
	}
	slices.SortFunc(out, func(a, b Sub) int { return cmp.Compare(a.Topic, b.Topic) })
	return out, nil
}

// live is every live subscriber of topic in lang, by (expiry, user).
func (s *Memory) live(topic, lang string) []cursor {
	now := s.now().Unix()
	var out []cursor
	for user, subs := range s.m {
		if sub, ok := subs[topic]; ok && sub.lang == lang && sub.exp > now {
			out = append(out, cursor{exp: sub.exp, user: user})
		}
	}
	slices.SortFunc(out, func(a, b cursor) int {
		return cmp.Or(cmp.Compare(a.exp, b.exp), cmp.Compare(a.user, b.user))
	})
	return out
}

// Count implements Store.
func (s *Memory) Count(_ context.Context, topic, lang string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live(topic, lang)), nil
}

// Page implements Store.
func (s *Memory) Page(_ context.Context, topic, lang, cur string, n int) ([]string, string, error) {
	var after cursor
	if cur != "" {
		var err error
		if after, err = parseCursor(cur); err != nil {
			return nil, "", err
		}
	}
	n = max(n, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.live(topic, lang)
	i := 0
	if cur != "" {
		i, _ = slices.BinarySearchFunc(all, after, func(a, b cursor) int {
			return cmp.Or(cmp.Compare(a.exp, b.exp), cmp.Compare(a.user, b.user))
		})
		if i < len(all) && all[i] == after {
			i++
		}
	}
	page := all[i:min(i+n, len(all))]
	users := make([]string, len(page))
	for j, c := range page {
		users[j] = c.user
	}
	if i+n >= len(all) {
		return users, "", nil
	}
	return users, page[len(page)-1].String(), nil
}
