package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// minSweepEvery is the fewest saves between two sweeps of expired entries.
const minSweepEvery = 64

// Memory is an in-process Sessions for the playground and tests. Entries
// expire after the TTL: checked on Load, and swept from time to time on Save
// so memory does not grow with people who never come back. It starts no
// goroutines, so there is nothing to stop.
type Memory struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]memEntry
	saves   int // saves since the last sweep
}

type memEntry struct {
	blob    []byte
	expires time.Time
}

var _ Sessions = (*Memory)(nil)

// NewMemory returns an empty Memory whose entries live for ttl after their
// last Save. now is the clock (nil means time.Now); tests inject a fake one,
// which must be safe for concurrent use.
// It returns ErrBadTTL if ttl <= 0.
func NewMemory(ttl time.Duration, now func() time.Time) (*Memory, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("new memory store: %w (got %v)", ErrBadTTL, ttl)
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{ttl: ttl, now: now, entries: make(map[string]memEntry)}, nil
}

// Load implements Sessions. ctx is not used.
func (m *Memory) Load(_ context.Context, user string) ([]byte, error) {
	if err := checkUser(user); err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[user]
	if !ok {
		return nil, nil
	}
	if !m.now().Before(e.expires) {
		delete(m.entries, user)
		return nil, nil
	}
	return append([]byte{}, e.blob...), nil // non-nil even for an empty blob
}

// Save implements Sessions. ctx is not used.
func (m *Memory) Save(_ context.Context, user string, blob []byte) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[user] = memEntry{blob: append([]byte{}, blob...), expires: now.Add(m.ttl)}
	// Sweeping every max(64, len) saves keeps the cost amortised O(1) per
	// Save while bounding the map to the live entries plus one sweep interval.
	m.saves++
	if m.saves >= max(minSweepEvery, len(m.entries)) {
		m.saves = 0
		for u, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, u)
			}
		}
	}
	return nil
}

// Delete implements Sessions. ctx is not used.
func (m *Memory) Delete(_ context.Context, user string) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, user)
	return nil
}

// Len returns the number of entries held, expired or not (for tests and
// metrics).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
