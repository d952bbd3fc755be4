package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
)

// Session is one signed-in staff member.
type Session struct {
	// User is the staff member's Telegram user ID; Name their first name.
	User int64  `json:"user"`
	Name string `json:"name"`
	// CSRF is the synchronizer token every form of the session carries.
	CSRF string `json:"csrf"`
	// Groups are the staff groups the member was found in at Checked.
	Groups  []int64   `json:"groups"`
	Created time.Time `json:"created"`
	Checked time.Time `json:"checked"`
	// Expires is when the session ends (Created + the session lifetime).
	Expires time.Time `json:"expires"`
}

// Sessions keeps sessions by their cookie value (only its hash is stored) and
// marks login data used: RedisSessions in production, MemorySessions for
// tests.
type Sessions interface {
	// Put stores s under id until s.Expires.
	Put(ctx context.Context, id string, s Session) error
	// Get returns the session (nil if none or expired).
	Get(ctx context.Context, id string) (*Session, error)
	Delete(ctx context.Context, id string) error
	// UseLogin marks login data (its hash) used for ttl; false if it was
	// used before.
	UseLogin(ctx context.Context, hash string, ttl time.Duration) (bool, error)
	// AllowSignIn reports whether a sign-in attempt from client (an address)
	// may go ahead at now: at most burst at once, then one per every. The
	// count is shared by every replica using the same store.
	AllowSignIn(ctx context.Context, client string, now time.Time, every time.Duration, burst int) (bool, error)
}

// newToken is a random 256-bit token, URL-safe.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func idHash(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// RedisSessions keeps sessions in Redis (keys.ConsoleKeys.Session).
type RedisSessions struct {
	rdb redis.UniversalClient
	k   keys.ConsoleKeys
}

// NewRedisSessions keeps sessions under k's console keys.
func NewRedisSessions(rdb redis.UniversalClient, k keys.Keys) *RedisSessions {
	return &RedisSessions{rdb: rdb, k: k.Console()}
}

// Put implements Sessions.
func (r *RedisSessions) Put(ctx context.Context, id string, s Session) error {
	ttl := time.Until(s.Expires)
	if ttl <= 0 {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("console session: %w", err)
	}
	if err := r.rdb.Set(ctx, r.k.Session(idHash(id)), b, ttl).Err(); err != nil {
		return fmt.Errorf("console session: %w", err)
	}
	return nil
}

// Get implements Sessions.
func (r *RedisSessions) Get(ctx context.Context, id string) (*Session, error) {
	b, err := r.rdb.Get(ctx, r.k.Session(idHash(id))).Bytes()
	if err == redis.Nil {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("console session: %w", err)
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, nil // unreadable: signed out
	}
	return &s, nil
}

// Delete implements Sessions.
func (r *RedisSessions) Delete(ctx context.Context, id string) error {
	if err := r.rdb.Del(ctx, r.k.Session(idHash(id))).Err(); err != nil {
		return fmt.Errorf("console session: %w", err)
	}
	return nil
}

// UseLogin implements Sessions.
func (r *RedisSessions) UseLogin(ctx context.Context, hash string, ttl time.Duration) (bool, error) {
	ok, err := r.rdb.SetNX(ctx, r.k.LoginUsed(hash), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("console login: %w", err)
	}
	return ok, nil
}

// signInScript is GCRA: KEYS[1] holds the theoretical arrival time (TAT) of
// the next attempt; an attempt is allowed while TAT+every stays within
// burst*every of now. ARGV: now, every (ms), burst.
var signInScript = redis.NewScript(`
local now, every, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next = tat + every
if next - now > every * burst then return 0 end
redis.call('SET', KEYS[1], next, 'PX', next - now)
return 1
`)

// AllowSignIn implements Sessions.
func (r *RedisSessions) AllowSignIn(ctx context.Context, client string, now time.Time, every time.Duration, burst int) (bool, error) {
	n, err := signInScript.Run(ctx, r.rdb, []string{r.k.SignIn(idHash(client))}, now.UnixMilli(),
		max(every.Milliseconds(), 1), burst).Int()
	if err != nil {
		return false, fmt.Errorf("console sign-in limit: %w", err)
	}
	return n == 1, nil
}

// MemorySessions keeps sessions in memory (tests; a console without Redis
// signs everyone out on restart).
type MemorySessions struct {
	now  func() time.Time
	mu   sync.Mutex
	s    map[string]Session
	used map[string]time.Time
	lim  *limiter // made by the first AllowSignIn, with its pace
}

// NewMemorySessions returns an empty store on clock now (nil: time.Now).
func NewMemorySessions(now func() time.Time) *MemorySessions {
	if now == nil {
		now = time.Now
	}
	return &MemorySessions{now: now, s: map[string]Session{}, used: map[string]time.Time{}}
}

// Put implements Sessions.
func (m *MemorySessions) Put(_ context.Context, id string, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s[idHash(id)] = s
	return nil
}

// Get implements Sessions.
func (m *MemorySessions) Get(_ context.Context, id string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.s[idHash(id)]
	if !ok || !m.now().Before(s.Expires) {
		delete(m.s, idHash(id))
		return nil, nil
	}
	return &s, nil
}

// Delete implements Sessions.
func (m *MemorySessions) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.s, idHash(id))
	return nil
}

// UseLogin implements Sessions.
func (m *MemorySessions) UseLogin(_ context.Context, hash string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for h, until := range m.used {
		if !now.Before(until) {
			delete(m.used, h)
		}
	}
	if _, ok := m.used[hash]; ok {
		return false, nil
	}
	m.used[hash] = now.Add(ttl)
	return true, nil
}

// AllowSignIn implements Sessions, for this process only.
func (m *MemorySessions) AllowSignIn(_ context.Context, client string, now time.Time, every time.Duration, burst int) (bool, error) {
	m.mu.Lock()
	if m.lim == nil {
		m.lim = newLimiter(every, burst)
	}
	l := m.lim
	m.mu.Unlock()
	return l.allow(client, now), nil
}
