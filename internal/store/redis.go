package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/unlink"
)

// Redis is the production Sessions: one string key per person
// (keys.Session) written with SET EX, so the session expires ttl after the
// last message. Load and Save are one round trip each. The Telegram
// transport reads and writes a person's session itself, within its own
// two round trips per update (bot/state.go, conversation.Session): this
// store serves every other path, and erases.
type Redis struct {
	rdb  redis.UniversalClient
	keys keys.Keys
	ttl  time.Duration
}

var _ Sessions = (*Redis)(nil)

// NewRedis returns a Redis store. ttl is the session lifetime after the last
// Save; it must be at least 1ms (Redis's resolution), else ErrBadTTL.
func NewRedis(rdb redis.UniversalClient, k keys.Keys, ttl time.Duration) (*Redis, error) {
	if ttl < time.Millisecond {
		return nil, fmt.Errorf("new redis store: %w (got %v, minimum 1ms)", ErrBadTTL, ttl)
	}
	if rdb == nil {
		return nil, errors.New("new redis store: nil client")
	}
	return &Redis{rdb: rdb, keys: k, ttl: ttl}, nil
}

// Load implements Sessions with one GET.
func (r *Redis) Load(ctx context.Context, user string) ([]byte, error) {
	if err := checkUser(user); err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	// Result, not Bytes: Bytes aliases the reply string without copying, and
	// the caller owns (and may modify) what we return.
	s, err := r.rdb.Get(ctx, r.keys.Session(user)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	b := make([]byte, len(s)) // non-nil even for an empty blob
	copy(b, s)
	return b, nil
}

// Save implements Sessions with one SET ... EX/PX (value and TTL in one
// round trip, so a session can never exist without a TTL).
func (r *Redis) Save(ctx context.Context, user string, blob []byte) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	// go-redis writes blob to the socket buffer before Set returns, so the
	// caller may reuse it afterwards.
	if err := r.rdb.Set(ctx, r.keys.Session(user), blob, r.ttl).Err(); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// Delete implements Sessions: it removes the session key and every other key
// of the person (keys.UserPattern), found with SCAN (unlink.User): on a
// cluster only on the master that owns the person's slot, so other masters
// being down does not matter. It is O(keys of that node) but only runs on
// /delete. Keys written concurrently with the scan (e.g. by a message still
// in flight) may survive; callers that must rule that out stop processing the
// person first.
func (r *Redis) Delete(ctx context.Context, user string) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	// The session key explicitly first: it is the one that matters most and
	// this does not depend on the pattern scan succeeding.
	if err := r.rdb.Unlink(ctx, r.keys.Session(user)).Err(); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if _, err := unlink.User(ctx, r.rdb, r.keys, user); err != nil {
		return fmt.Errorf("delete user keys: %w", err)
	}
	return nil
}
