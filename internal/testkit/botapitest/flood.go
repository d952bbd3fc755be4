package botapitest

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Flood is Telegram's flood control as the fake plays it: a message (a
// send*, copyMessage, forwardMessage or editMessage* call) beyond PerSecond
// over all chats, or beyond PerChatPerSecond in its chat, is answered 429
// with parameters.retry_after. A refused message uses no budget.
type Flood struct {
	// PerSecond and Burst bound messages over all chats (0: no limit;
	// Burst 0: one second's worth).
	PerSecond float64
	Burst     int
	// PerChatPerSecond and PerChatBurst bound messages to one chat (0: no
	// limit; PerChatBurst 0: 3).
	PerChatPerSecond float64
	PerChatBurst     int
	// RetryAfter is the retry_after answered, in seconds [1].
	RetryAfter int
}

type flood struct {
	cfg    Flood
	global *rate.Limiter

	mu    sync.Mutex
	chats map[int64]*rate.Limiter
}

func newFlood(f Flood) *flood {
	if f.RetryAfter <= 0 {
		f.RetryAfter = 1
	}
	fl := &flood{cfg: f, chats: map[int64]*rate.Limiter{}}
	if f.PerSecond > 0 {
		burst := f.Burst
		if burst <= 0 {
			burst = int(math.Ceil(f.PerSecond))
		}
		fl.global = rate.NewLimiter(rate.Limit(f.PerSecond), burst)
	}
	if fl.cfg.PerChatBurst <= 0 {
		fl.cfg.PerChatBurst = 3
	}
	return fl
}

// isMessage reports whether method puts a message in a chat (or changes one).
func isMessage(method string) bool {
	return strings.HasPrefix(method, "send") && method != "sendChatAction" || method == "copyMessage" ||
		method == "forwardMessage" || strings.HasPrefix(method, "editMessage")
}

// reject reports whether c is over the limits at t (and takes its budget
// when it is not).
func (f *flood) reject(c Call, t time.Time) bool {
	if !isMessage(c.Method) {
		return false
	}
	var chat *rate.Limiter
	if f.cfg.PerChatPerSecond > 0 && c.ChatID != 0 {
		f.mu.Lock()
		chat = f.chats[c.ChatID]
		if chat == nil {
			chat = rate.NewLimiter(rate.Limit(f.cfg.PerChatPerSecond), f.cfg.PerChatBurst)
			f.chats[c.ChatID] = chat
		}
		f.mu.Unlock()
		if chat.TokensAt(t) < 1 {
			return true
		}
	}
	if f.global != nil && !f.global.AllowN(t, 1) {
		return true
	}
	if chat != nil {
		chat.AllowN(t, 1)
	}
	return false
}

func (f *flood) answer() apiError {
	return apiError{ErrorCode: http.StatusTooManyRequests,
		Description: "Too Many Requests: retry after " + strconv.Itoa(f.cfg.RetryAfter),
		Parameters:  map[string]int{"retry_after": f.cfg.RetryAfter}}
}
