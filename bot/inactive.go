package bot

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
)

// Inactive remembers chats whose person blocked the bot (Bot API 403, or a
// my_chat_member update with status "kicked"). Nothing is sent to an inactive
// chat until the person writes again. Entries expire (InactiveTTL).
type Inactive interface {
	IsInactive(ctx context.Context, chatID int64) (bool, error)
	SetInactive(ctx context.Context, chatID int64) error
	SetActive(ctx context.Context, chatID int64) error
}

// BlockedHook is told the person's key ("tg:" + their user ID) when a
// person blocks the bot (my_chat_member "kicked" in their private chat),
// under their chat's lease: the app ends their subscriptions there. An
// error makes the update be delivered again, so it must be idempotent.
type BlockedHook func(ctx context.Context, user string) error

func (d *Dispatcher) onBlocked(ctx context.Context, user string) error {
	if d.blocked != nil {
		return d.blocked(ctx, user)
	}
	return nil
}

// chatKey is the opaque chat ID used in keys and for serialisation.
func chatKey(chatID int64) string { return "tg:" + strconv.FormatInt(chatID, 10) }

// NewMemoryInactive keeps the marks in process memory (the playground, or
// running without Redis).
func NewMemoryInactive(ttl time.Duration) Inactive {
	return &memoryInactive{ttl: ttl, m: map[int64]time.Time{}}
}

type memoryInactive struct {
	ttl       time.Duration
	mu        sync.Mutex
	m         map[int64]time.Time // chat → expiry
	lastSweep time.Time
}

func (s *memoryInactive) IsInactive(_ context.Context, chatID int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.m[chatID]
	if ok && time.Now().After(exp) {
		delete(s.m, chatID)
		return false, nil
	}
	return ok, nil
}

func (s *memoryInactive) SetInactive(_ context.Context, chatID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.m[chatID] = now.Add(s.ttl)
	if now.Sub(s.lastSweep) > time.Minute {
		s.lastSweep = now
		for id, exp := range s.m {
			if now.After(exp) {
				delete(s.m, id)
			}
		}
	}
	return nil
}

func (s *memoryInactive) SetActive(_ context.Context, chatID int64) error {
	s.mu.Lock()
	delete(s.m, chatID)
	s.mu.Unlock()
	return nil
}

// NewRedisInactive keeps the marks in Redis under keys.ChatInactive with a TTL.
func NewRedisInactive(rdb redis.UniversalClient, k keys.Keys, ttl time.Duration) Inactive {
	return &redisInactive{rdb: rdb, k: k, ttl: ttl}
}

type redisInactive struct {
	rdb redis.UniversalClient
	k   keys.Keys
	ttl time.Duration
}

func (s *redisInactive) IsInactive(ctx context.Context, chatID int64) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.k.ChatInactive(chatKey(chatID))).Result()
	if err != nil {
		return false, fmt.Errorf("check inactive chat: %w", err)
	}
	return n == 1, nil
}

func (s *redisInactive) SetInactive(ctx context.Context, chatID int64) error {
	if err := s.rdb.Set(ctx, s.k.ChatInactive(chatKey(chatID)), "1", s.ttl).Err(); err != nil {
		return fmt.Errorf("mark chat inactive: %w", err)
	}
	return nil
}

func (s *redisInactive) SetActive(ctx context.Context, chatID int64) error {
	if err := s.rdb.Del(ctx, s.k.ChatInactive(chatKey(chatID))).Err(); err != nil {
		return fmt.Errorf("mark chat active: %w", err)
	}
	return nil
}
