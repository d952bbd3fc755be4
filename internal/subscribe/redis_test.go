package subscribe

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/testkit/redistest"
)

func TestRedisContract(t *testing.T) {
	t.Parallel()
	testContract(t, func(t *testing.T, ttl time.Duration, clk *clock) Store {
		rdb, k := redistest.New(t)
		return NewRedis(rdb, k, ttl, clk.now)
	})
}

// TestRedisClusterContract runs the contract on a one-node Redis Cluster,
// which rejects a script or command whose keys span slots: the person's
// hash and each topic's set are written separately.
func TestRedisClusterContract(t *testing.T) {
	t.Parallel()
	srv := redistest.StartClusterServer(t)
	rdb := srv.Client()
	n := 0
	testContract(t, func(t *testing.T, ttl time.Duration, clk *clock) Store {
		n++
		return NewRedis(rdb, keys.New("putokaz:c"+string(rune('a'+n))+":"), ttl, clk.now)
	})
}

// TestRedisKeysExpire: every key a subscription writes has a TTL, at the
// newest subscription's expiry (personal data never lives on by itself).
func TestRedisKeysExpire(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rdb, k := redistest.New(t)
	clk := &clock{time.Now()}
	s := NewRedis(rdb, k, 48*time.Hour, clk.now)
	if err := s.Add(ctx, "tg:7", "shelter", "ar"); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(time.Hour)
	if err := s.Add(ctx, "tg:7", "asylum", "ar"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{k.Subs("tg:7"), k.SubsTopic("shelter", "ar"), k.SubsTopic("asylum", "ar")} {
		ttl, err := rdb.TTL(ctx, key).Result()
		if err != nil || ttl <= 0 || ttl > 49*time.Hour {
			t.Errorf("TTL(%s) = %v, %v; want about 48h", key, ttl, err)
		}
	}
	if ttl, _ := rdb.TTL(ctx, k.Subs("tg:7")).Result(); ttl < 48*time.Hour {
		t.Errorf("the person's index expires in %v, before their newest subscription (48h+1h from the first)", ttl)
	}
}

// TestRedisRemoveLeavesNothing: after Remove(all) no key or member under the
// prefix names the person, in their slot or in any topic's set.
func TestRedisRemoveLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rdb, k := redistest.New(t)
	s := NewRedis(rdb, k, time.Hour, time.Now)
	const user = "tg:424242"
	for _, topic := range []string{"shelter", "asylum", "trafficking"} {
		if err := s.Add(ctx, user, topic, "fa"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(ctx, user, "shelter", "en"); err != nil { // moved: the fa set must not keep it
		t.Fatal(err)
	}
	if err := s.Add(ctx, "tg:other", "shelter", "fa"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, user, ""); err != nil {
		t.Fatal(err)
	}
	if where := namesPerson(ctx, t, rdb, k, "424242"); where != "" {
		t.Errorf("after Remove the person is still in %s", where)
	}
	if n, _ := s.Count(ctx, "shelter", "fa"); n != 1 {
		t.Errorf("the other person's subscription went too (Count %d)", n)
	}
}

// namesPerson scans every key under the prefix for one whose name or
// content mentions id; it returns the first such key or "".
func namesPerson(ctx context.Context, t *testing.T, rdb redis.UniversalClient, k keys.Keys, id string) string {
	t.Helper()
	iter := rdb.Scan(ctx, 0, k.PrefixPattern(), 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if strings.Contains(key, id) {
			return key
		}
		var vals []string
		switch typ, _ := rdb.Type(ctx, key).Result(); typ {
		case "zset":
			vals, _ = rdb.ZRange(ctx, key, 0, -1).Result()
		case "hash":
			m, _ := rdb.HGetAll(ctx, key).Result()
			for f, v := range m {
				vals = append(vals, f, v)
			}
		}
		for _, v := range vals {
			if strings.Contains(v, id) {
				return key
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return ""
}
