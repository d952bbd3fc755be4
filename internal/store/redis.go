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
// last message. Load and Save are one round trip each.
type Redis struct {
	rdb  redis.UniversalClient
	keys keys.Keys
	ttl  time.Duration
	// Fence, when set, names the lease under which the caller handles this
	// person (its Redis key and fencing token). Save then writes only while
	// the lease still holds that token, so a handler that stalled past its
	// lease cannot overwrite the state a newer handler saved.
	Fence func(ctx context.Context) (key, token string, ok bool)
	// Tx, when set, finds the transport's transaction for the person's
	// session key (bot.SessionTx): the session was read together with the
	// chat's lease, and the transport writes it together with marking the
	// update done, fenced by the lease. Load, Save and Delete then cost no
	// round trip of their own (Delete still erases at once).
	Tx func(ctx context.Context, key string) (SessionTx, bool)
}

// SessionTx is a session read and written by the caller's transaction.
type SessionTx interface {
	Load() []byte
	Stage(blob []byte, ttl time.Duration)
	Unstage()
}

func (r *Redis) tx(ctx context.Context, user string) (SessionTx, bool) {
	if r.Tx == nil {
		return nil, false
	}
	return r.Tx(ctx, r.keys.Session(user))
}

// ErrFenced is returned by Save when the caller's lease was lost.
var ErrFenced = errors.New("lease lost: a newer handler owns this person")

// fencedSet writes the session only while the lease holds our token; the
// lease and session keys share the person's hash tag (one cluster slot).
var fencedSet = redis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`)

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
	if tx, ok := r.tx(ctx, user); ok {
		return tx.Load(), nil
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
	if tx, ok := r.tx(ctx, user); ok {
		tx.Stage(blob, r.ttl)
		return nil
	}
	if r.Fence != nil {
		if key, token, ok := r.Fence(ctx); ok {
			n, err := fencedSet.Run(ctx, r.rdb, []string{r.keys.Session(user), key}, blob, token, r.ttl.Milliseconds()).Int()
			if err != nil {
				return fmt.Errorf("save session: %w", err)
			}
			if n == 0 {
				return fmt.Errorf("save session: %w", ErrFenced)
			}
			return nil
		}
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
	if tx, ok := r.tx(ctx, user); ok {
		tx.Unstage()
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
