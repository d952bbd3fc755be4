package redistest

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// CountingHook is a go-redis hook that counts round trips the code under test
// asks for: one per command (Process) and one per pipeline or transaction
// (Exec), however many commands it holds. Use it to pin the number of round
// trips on a hot path:
//
//	h := &redistest.CountingHook{}
//	rdb.AddHook(h)
//	... warm-up optional ...
//	h.Reset()
//	doWork()
//	if h.Count() != 2 { t.Errorf("round trips = %d (%v)", h.Count(), h.Commands()) }
//
// Commands that go-redis issues on its own while serving a counted call (the
// HELLO/AUTH/SELECT handshake of a fresh connection) pass through the same
// hooks; they are not counted, so the count does not depend on whether the
// pool already had a connection. Internal retries are not counted either.
// Safe for concurrent use.
type CountingHook struct {
	n     atomic.Int64
	mu    sync.Mutex
	names []string
}

var _ redis.Hook = (*CountingHook)(nil)

// nestedKey marks a context that is already inside a counted call.
type nestedKey struct{}

func nested(ctx context.Context) bool { return ctx.Value(nestedKey{}) != nil }

// DialHook does not count: dialing is part of a counted call.
func (h *CountingHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

// ProcessHook counts one round trip per command.
func (h *CountingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if nested(ctx) {
			return next(ctx, cmd)
		}
		h.record(cmd.Name())
		return next(context.WithValue(ctx, nestedKey{}, true), cmd)
	}
}

// ProcessPipelineHook counts one round trip per pipeline / transaction.
func (h *CountingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if nested(ctx) {
			return next(ctx, cmds)
		}
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		h.record("pipeline[" + strings.Join(names, " ") + "]")
		return next(context.WithValue(ctx, nestedKey{}, true), cmds)
	}
}

func (h *CountingHook) record(name string) {
	h.mu.Lock()
	h.names = append(h.names, name)
	h.mu.Unlock()
	h.n.Add(1)
}

// Count returns the number of round trips since creation or the last Reset.
func (h *CountingHook) Count() int64 { return h.n.Load() }

// Commands returns the counted calls in order (command names in lower case;
// pipelines as "pipeline[get set]"), for failure messages.
func (h *CountingHook) Commands() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.names...)
}

// Reset sets the count back to zero.
func (h *CountingHook) Reset() {
	h.mu.Lock()
	h.names = nil
	h.n.Store(0)
	h.mu.Unlock()
}
