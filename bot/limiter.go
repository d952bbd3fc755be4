package bot

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// chatLimiters hands out one gate (lane.go) per chat: private chats
// (positive IDs) about 1 msg/s, groups (negative IDs) about 20 msg/min, for
// every lane, in lane priority when several sends to one chat wait. A chat's
// gate also remembers until when Telegram told us to wait (429
// retry_after), so every sender to that chat waits, not only the call that
// got the 429.
//
// Entries of idle chats are evicted so memory does not grow with the number of
// people who ever wrote: an entry idle longer than the time its bucket needs
// to refill is indistinguishable from a new one.
type chatLimiters struct {
	private, group           rate.Limit
	privateBurst, groupBurst int
	idle                     time.Duration

	mu        sync.Mutex
	m         map[int64]*chatLimiter
	lastSweep time.Time
}

type chatLimiter struct {
	g     *gate
	last  time.Time // last use, for eviction
	users int       // goroutines using it now (never evicted while > 0)
}

func newChatLimiters(l Limits) *chatLimiters {
	c := &chatLimiters{
		private:      rate.Limit(l.PrivatePerSecond),
		privateBurst: l.PrivateBurst,
		group:        rate.Limit(l.GroupPerMinute / 60),
		groupBurst:   l.GroupBurst,
		m:            map[int64]*chatLimiter{},
	}
	// Idle long enough to refill the slower bucket completely, at least 10 s
	// (the sweep walks every entry once a period). Not longer: an urgent
	// update at 1000/s writes to 1000 new chats a second, and a minute kept
	// 60 000 entries (RSS 35 → 110 MiB in loadtest --announce).
	c.idle = 10 * time.Second
	if c.group > 0 {
		if refill := time.Duration(float64(c.groupBurst) / float64(c.group) * float64(time.Second)); refill > c.idle {
			c.idle = refill
		}
	}
	return c
}

func (c *chatLimiters) acquire(chatID int64, now time.Time) *chatLimiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastSweep) > c.idle {
		c.lastSweep = now
		for id, e := range c.m {
			if e.users == 0 && now.Sub(e.last) > c.idle && now.After(e.g.blockedUntil()) {
				delete(c.m, id)
			}
		}
	}
	e := c.m[chatID]
	if e == nil {
		lim, burst := c.private, c.privateBurst
		if chatID < 0 {
			lim, burst = c.group, c.groupBurst
		}
		e = &chatLimiter{g: newGate(rate.NewLimiter(lim, burst))}
		c.m[chatID] = e
	}
	e.users++
	e.last = now
	return e
}

func (c *chatLimiters) release(e *chatLimiter) {
	c.mu.Lock()
	e.users--
	e.last = time.Now()
	c.mu.Unlock()
}

// wait blocks until one message of lane may go to chatID. fresh reports that
// the chat's bucket was full (nothing was sent to it lately).
func (c *chatLimiters) wait(ctx context.Context, chatID int64, lane Lane) (fresh bool, err error) {
	e := c.acquire(chatID, time.Now())
	defer c.release(e)
	return e.g.wait(ctx, lane)
}

// block makes every sender to chatID wait until t.
func (c *chatLimiters) block(chatID int64, t time.Time) {
	e := c.acquire(chatID, time.Now())
	e.g.block(t)
	c.release(e)
}

// size is the number of chats with a limiter (for tests and metrics).
func (c *chatLimiters) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
