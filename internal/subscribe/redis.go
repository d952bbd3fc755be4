package subscribe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
)

// Redis is the production Store. A person's subscriptions live in their own
// hash (keys.Subs, in their hash slot, so /delete finds it with the rest),
// and each (topic, language) has a sorted set of subscribers scored by
// expiry (keys.SubsTopic). The two are in different cluster slots, so they
// are written one after the other in an order that keeps one rule at every
// moment: a person found in a topic's set is named in their own hash. That
// way erasing a person (their hash tells which sets to clean) leaves nothing
// behind, even after a crash between two writes.
type Redis struct {
	rdb redis.UniversalClient
	k   keys.Keys
	ttl time.Duration
	now func() time.Time
}

// NewRedis returns a store whose subscriptions last ttl after they were
// last made.
func NewRedis(rdb redis.UniversalClient, k keys.Keys, ttl time.Duration, now func() time.Time) *Redis {
	return &Redis{rdb: rdb, k: k, ttl: ttl, now: now}
}

var _ Store = (*Redis)(nil)

// expireLater makes KEYS[1] expire at the unix second ARGV[1] unless it
// already expires later (EXPIREAT ... GT treats a key without a TTL as
// never expiring, which a key just created by HSET or ZADD is).
const expireLater = `
local t = redis.call('EXPIRETIME', KEYS[1])
if t < 0 or t < tonumber(ARGV[1]) then redis.call('EXPIREAT', KEYS[1], ARGV[1]) end
return 1
`

// personAdd records a subscription in the person's hash.
// KEYS[1] keys.Subs; ARGV[1] expiry (unix s), ARGV[2] topic, ARGV[3] entry.
var personAdd = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])` + expireLater)

// topicAdd adds a subscriber to a topic's set and drops its dead entries.
// KEYS[1] keys.SubsTopic; ARGV[1] expiry (unix s), ARGV[2] user, ARGV[3] now.
var topicAdd = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])` + expireLater)

// Add implements Store: the old language's set first, then the person's
// hash, then the new set (see Redis).
func (s *Redis) Add(ctx context.Context, user, topic, lang string) error {
	if err := check(user, topic, lang); err != nil {
		return err
	}
	person := s.k.Subs(user)
	old, err := s.rdb.HGet(ctx, person, topic).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("subscribe: read %s: %w", topic, err)
	}
	if _, oldLang, ok := parseEntry(old); ok && oldLang != lang {
		if err := s.rdb.ZRem(ctx, s.k.SubsTopic(topic, oldLang), user).Err(); err != nil {
			return fmt.Errorf("subscribe: move %s to %s: %w", topic, lang, err)
		}
	}
	now := s.now()
	exp := now.Add(s.ttl).Unix()
	if err := personAdd.Run(ctx, s.rdb, []string{person}, exp, topic, entry(exp, lang)).Err(); err != nil {
		return fmt.Errorf("subscribe: %s: %w", topic, err)
	}
	if err := topicAdd.Run(ctx, s.rdb, []string{s.k.SubsTopic(topic, lang)}, exp, user, now.Unix()).Err(); err != nil {
		return fmt.Errorf("subscribe: index %s: %w", topic, err)
	}
	return nil
}

// Remove implements Store: the topics' sets first, then the person's hash.
func (s *Redis) Remove(ctx context.Context, user, topic string) error {
	person := s.k.Subs(user)
	all, err := s.rdb.HGetAll(ctx, person).Result()
	if err != nil {
		return fmt.Errorf("unsubscribe: read: %w", err)
	}
	for t, v := range all {
		if topic != "" && t != topic {
			continue
		}
		if _, lang, ok := parseEntry(v); ok {
			if err := s.rdb.ZRem(ctx, s.k.SubsTopic(t, lang), user).Err(); err != nil {
				return fmt.Errorf("unsubscribe: %s: %w", t, err)
			}
		}
	}
	if topic == "" {
		err = s.rdb.Unlink(ctx, person).Err()
	} else {
		err = s.rdb.HDel(ctx, person, topic).Err()
	}
	if err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	return nil
}

// List implements Store.
func (s *Redis) List(ctx context.Context, user string) ([]Sub, error) {
	all, err := s.rdb.HGetAll(ctx, s.k.Subs(user)).Result()
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	now := s.now().Unix()
	var out []Sub
	for topic, v := range all {
		if exp, lang, ok := parseEntry(v); ok && exp > now {
			out = append(out, Sub{Topic: topic, Lang: lang})
		}
	}
	slices.SortFunc(out, func(a, b Sub) int {
		switch {
		case a.Topic < b.Topic:
			return -1
		case a.Topic > b.Topic:
			return 1
		}
		return 0
	})
	return out, nil
}

// Count implements Store.
func (s *Redis) Count(ctx context.Context, topic, lang string) (int, error) {
	n, err := s.rdb.ZCount(ctx, s.k.SubsTopic(topic, lang), "("+strconv.FormatInt(s.now().Unix(), 10), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("count subscribers of %s/%s: %w", topic, lang, err)
	}
	return int(n), nil
}

// page returns up to ARGV[4] subscribers (with their scores) after the
// cursor: from the rank after the cursor's user while that user still has
// the cursor's score; otherwise (they left or renewed) from the cursor's
// score again, which may repeat a few people but never skips one.
// KEYS[1] keys.SubsTopic; ARGV[1] the lowest live score ("(now"), or the
// cursor's score; ARGV[2] cursor user ("" on the first page); ARGV[3]
// cursor score; ARGV[4] how many.
var page = redis.NewScript(`
local n = tonumber(ARGV[4])
if ARGV[2] ~= '' then
  local sc = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if sc and tonumber(sc) == tonumber(ARGV[3]) then
    local r = redis.call('ZRANK', KEYS[1], ARGV[2])
    return redis.call('ZRANGE', KEYS[1], r + 1, r + n, 'WITHSCORES')
  end
end
return redis.call('ZRANGE', KEYS[1], ARGV[1], '+inf', 'BYSCORE', 'LIMIT', 0, n, 'WITHSCORES')`)

// Page implements Store. It asks for one more than n to know whether the
// walk is over.
func (s *Redis) Page(ctx context.Context, topic, lang, cur string, n int) ([]string, string, error) {
	n = max(n, 1)
	from, user, score := "("+strconv.FormatInt(s.now().Unix(), 10), "", "0"
	if cur != "" {
		c, err := parseCursor(cur)
		if err != nil {
			return nil, "", err
		}
		from, user, score = strconv.FormatInt(c.exp, 10), c.user, strconv.FormatInt(c.exp, 10)
	}
	raw, err := page.Run(ctx, s.rdb, []string{s.k.SubsTopic(topic, lang)}, from, user, score, n+1).StringSlice()
	if err != nil {
		return nil, "", fmt.Errorf("page subscribers of %s/%s: %w", topic, lang, err)
	}
	var users []string
	var last cursor
	for i := 0; i+1 < len(raw) && len(users) < n; i += 2 {
		exp, err := strconv.ParseInt(raw[i+1], 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("page subscribers of %s/%s: score %q: %w", topic, lang, raw[i+1], err)
		}
		users = append(users, raw[i])
		last = cursor{exp: exp, user: raw[i]}
	}
	if len(raw)/2 <= n {
		return users, "", nil
	}
	return users, last.String(), nil
}
