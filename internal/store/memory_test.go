package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestMemoryContract(t *testing.T) {
	m, err := NewMemory(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	testContract(t, m)
}

func TestNewMemoryBadTTL(t *testing.T) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := NewMemory(ttl, nil); !errors.Is(err, ErrBadTTL) {
			t.Errorf("NewMemory(%v) err = %v, want ErrBadTTL", ttl, err)
		}
	}
}

func TestMemoryExpiry(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	m, err := NewMemory(10*time.Minute, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(ctx, "tg:1", []byte("a")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Minute)
	if got, _ := m.Load(ctx, "tg:1"); string(got) != "a" {
		t.Fatalf("before TTL: %q", got)
	}
	// Save refreshes the TTL: 9+9 minutes after the first Save it still lives.
	if err := m.Save(ctx, "tg:1", []byte("b")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Minute)
	if got, _ := m.Load(ctx, "tg:1"); string(got) != "b" {
		t.Fatalf("after refresh: %q", got)
	}
	clk.Advance(time.Minute) // exactly ttl after the last Save: gone
	if got, err := m.Load(ctx, "tg:1"); got != nil || err != nil {
		t.Fatalf("after TTL: %q, %v; want nil, nil", got, err)
	}
	if m.Len() != 0 {
		t.Errorf("expired entry not dropped on Load: Len = %d", m.Len())
	}
}

// TestMemorySweep checks that people who never come back do not pile up:
// expired entries are swept during later Saves without any Load.
func TestMemorySweep(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	m, err := NewMemory(time.Minute, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if err := m.Save(ctx, fmt.Sprintf("tg:old%d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(2 * time.Minute)
	// Sweeps run at least every max(64, Len) saves.
	for i := range 1000 {
		if err := m.Save(ctx, fmt.Sprintf("tg:new%d", i%10), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Len(); n > 10+minSweepEvery {
		t.Errorf("Len = %d after sweeps; want the 10 live entries (plus at most one sweep interval)", n)
	}
	for i := range 10 {
		if got, _ := m.Load(ctx, fmt.Sprintf("tg:new%d", i)); string(got) != "x" {
			t.Errorf("live entry tg:new%d lost by sweep", i)
		}
	}
}

func TestMemoryConcurrentWithClock(t *testing.T) {
	clk := newFakeClock()
	m, err := NewMemory(time.Second, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			clk.Advance(100 * time.Millisecond)
		}
	}()
	testConcurrent(t, m)
	<-done
}
