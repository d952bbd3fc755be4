// Package redistest holds helpers for tests that need a real Redis. It is a
// normal package so tests of several packages can share it; only tests import
// it.
//
// Tests share one Redis server (REDIS_URL) and run in parallel with other
// packages' tests, so isolation is by key prefix: New gives each test a unique
// prefix and deletes exactly the keys under it at the end. Never FLUSHDB.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/unlink"
)

// DefaultURL is used when REDIS_URL is not set.
const DefaultURL = "redis://127.0.0.1:6379/0"

const howToStart = `start one with: redis-server --daemonize yes --save "" --appendonly no` +
	` (or set REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379/0)`

// New returns a client for REDIS_URL (default redis://127.0.0.1:6379/0) and a
// unique key prefix for this test; keys under the prefix are deleted (SCAN +
// UNLINK, never FLUSHDB) and the client is closed when the test ends.
// REDIS_URL is parsed by redis.ParseURL: a single node, not a cluster.
//
// If Redis is not reachable the test fails (it is never skipped: a silently
// skipped storage test is worse than a red one).
func New(t testing.TB) (redis.UniversalClient, keys.Keys) {
	t.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		raw = DefaultURL
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("redistest: bad REDIS_URL %s: %v", redact(raw), err)
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 2 * time.Second
	opts.WriteTimeout = 2 * time.Second
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		t.Fatalf("redistest: Redis at %s is not reachable (%v); %s", redact(raw), err, howToStart)
	}

	k := keys.New(Prefix(t))
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run: use our own.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if n, err := unlink.Matching(ctx, rdb, k.PrefixPattern()); err != nil {
			t.Errorf("redistest: cleanup of %s (%d keys deleted): %v", k.Prefix(), n, err)
		}
		_ = rdb.Close()
	})
	return rdb, k
}

// Prefix returns a fresh unique key prefix for t:
// "test:" + sanitized t.Name() + ":" + random hex + ":".
func Prefix(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("redistest: random prefix: %v", err)
	}
	return "test:" + sanitize(t.Name()) + ":" + hex.EncodeToString(b[:]) + ":"
}

// sanitize keeps test names readable in keys while removing anything that is
// special in keys or glob patterns (braces, *, ?, [, ], \, spaces, "/").
func sanitize(name string) string {
	const max = 60
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= max {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// redact hides the password of a Redis URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>" // may contain a password: do not echo it
	}
	return u.Redacted()
}
