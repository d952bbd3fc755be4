package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// NewToken returns a random token: 32 hex characters.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ms formats a TTL as the scripts take it: whole milliseconds, at least 1
// (PX 0 is an error).
func ms(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }

var (
	// KEYS: lease[, guard set]; ARGV: token, ttl ms[, member]
	// Ours: extended. Gone (expired while nobody took it, or erased): taken
	// — unless member is in the guard set (the work the lease guarded is
	// done, so someone else must have held it meanwhile). Another token: 0.
	acquireScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not cur then
  if KEYS[2] and ARGV[3] and ARGV[3] ~= '' and redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then
    return 0
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

	// KEYS: lease; ARGV: holder's token, new token, ttl ms
	takeOverScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`)

	// KEYS: lease; ARGV: token
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)
)

// Acquire takes the lease at key for token, or renews it if token holds it
// already, for ttl. It reports false if another token holds it.
func Acquire(ctx context.Context, rdb redis.Scripter, key, token string, ttl time.Duration) (bool, error) {
	return run(ctx, "acquire", acquireScript, rdb, []string{key}, token, ms(ttl))
}

// AcquireUnless is Acquire, except that a lease that is gone is not taken
// again when member is in the set at guard (guard must hash to key's slot).
// The Telegram transport renews a chat's lease this way: if the update it
// handles is in the chat's done set, another handler took the lease over
// (believing this one dead), finished the update and released the chat.
// member "" means no guard: Acquire.
func AcquireUnless(ctx context.Context, rdb redis.Scripter, key, token string, ttl time.Duration, guard, member string) (bool, error) {
	if member == "" {
		return Acquire(ctx, rdb, key, token, ttl)
	}
	return run(ctx, "acquire", acquireScript, rdb, []string{key, guard}, token, ms(ttl), member)
}

// run runs one of the scripts, which answer 1 (done) or 0.
func run(ctx context.Context, what string, script *redis.Script, rdb redis.Scripter, keys []string, args ...any) (bool, error) {
	n, err := script.Run(ctx, rdb, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("%s lease: %w", what, err)
	}
	return n == 1, nil
}

// TakeOver replaces the lease at key with token, for ttl, if holder still
// holds it (compare-and-set): for a holder known to be gone, without
// waiting for its lease to expire.
func TakeOver(ctx context.Context, rdb redis.Scripter, key, holder, token string, ttl time.Duration) (bool, error) {
	return run(ctx, "take over", takeOverScript, rdb, []string{key}, holder, token, ms(ttl))
}

// Release deletes the lease at key if token holds it (compare-and-delete: a
// holder whose lease expired must not release someone else's). It reports
// whether it did.
func Release(ctx context.Context, rdb redis.Scripter, key, token string) (bool, error) {
	return run(ctx, "release", releaseScript, rdb, []string{key}, token)
}

// Wait takes the lease at key for token, retrying while another token holds
// it (10 ms, doubling up to 200 ms) for at most wait. The returned release
// gives it back (with its own 2-second deadline, even after ctx ends).
func Wait(ctx context.Context, rdb redis.Scripter, key, token string, ttl, wait time.Duration) (release func(), err error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	delay := 10 * time.Millisecond
	for {
		ok, err := Acquire(wctx, rdb, key, token, ttl)
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
			return nil, fmt.Errorf("acquire lease: held by another for %v", wait)
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_, _ = Release(uctx, rdb, key, token)
	}, nil
}
