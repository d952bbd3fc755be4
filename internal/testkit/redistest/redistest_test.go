package redistest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/testkit/redistest"
	"putokaz/internal/unlink"
)

func TestNewPrefixIsolationAndCleanup(t *testing.T) {
	ctx := t.Context()
	// An observer client outside the subtests sees what they leave behind.
	observer, _ := redistest.New(t)

	var prefixes []string
	for _, name := range []string{"first", "we{ird} na*me/[x]?"} {
		t.Run(name, func(t *testing.T) {
			rdb, k := redistest.New(t)
			p := k.Prefix()
			if !strings.HasPrefix(p, "test:") || !strings.HasSuffix(p, ":") {
				t.Errorf("prefix %q: want test:<name>:<hex>:", p)
			}
			if strings.ContainsAny(p, "{}*?[]\\ /") {
				t.Errorf("prefix %q contains key or glob metacharacters", p)
			}
			for _, other := range prefixes {
				if strings.HasPrefix(p, other) || strings.HasPrefix(other, p) {
					t.Errorf("prefixes overlap: %q and %q", p, other)
				}
			}
			prefixes = append(prefixes, p)
			for _, key := range []string{k.Session("tg:1"), k.Session("tg:2"), p + "plain"} {
				if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
					t.Fatalf("set: %v", err)
				}
			}
			n, err := rdb.Exists(ctx, k.Session("tg:1"), k.Session("tg:2"), p+"plain").Result()
			if err != nil || n != 3 {
				t.Fatalf("exists = %d, %v; want 3", n, err)
			}
		})
	}
	if len(prefixes) != 2 {
		t.Fatalf("subtests did not run: %v", prefixes)
	}
	// The subtests have finished, so their cleanups have run.
	for _, p := range prefixes {
		// A full SCAN; it also removes leftovers so a failure does not leak.
		n, err := unlink.Matching(ctx, observer, p+"*")
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d keys left under %q after cleanup", n, p)
		}
	}
}

func TestCleanupLeavesOtherKeys(t *testing.T) {
	ctx := t.Context()
	observer, outer := redistest.New(t)
	keep := outer.Prefix() + "keep"
	if err := observer.Set(ctx, keep, "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	t.Run("inner", func(t *testing.T) {
		rdb, k := redistest.New(t)
		if err := rdb.Set(ctx, k.Prefix()+"x", "1", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if n, err := observer.Exists(ctx, keep).Result(); err != nil || n != 1 {
		t.Errorf("another test's key was deleted by cleanup: exists=%d err=%v", n, err)
	}
}

func TestStartServerStopStart(t *testing.T) {
	t.Parallel()
	s := redistest.StartServer(t)
	if s.Addr == "" {
		t.Fatal("empty Addr")
	}
	rdb := s.Client()
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return rdb.Ping(ctx).Err()
	}
	if err := ping(); err != nil {
		t.Fatalf("ping running server: %v", err)
	}
	if err := rdb.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	s.Stop()
	start := time.Now()
	if err := ping(); err == nil {
		t.Fatal("ping succeeded after Stop")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ping against a stopped server took %v; want a fast failure", d)
	}
	s.Stop() // idempotent

	addr := s.Addr
	s.Start()
	if s.Addr != addr {
		t.Errorf("Addr changed across restart: %s -> %s", addr, s.Addr)
	}
	if err := ping(); err != nil {
		t.Fatalf("ping after Start: %v", err)
	}
	// No persistence: a restart loses data, like a crashed cache node.
	if n, err := rdb.Exists(t.Context(), "k").Result(); err != nil || n != 0 {
		t.Errorf("after restart exists(k) = %d, %v; want 0 (no persistence)", n, err)
	}
	s.Start() // idempotent
}

func TestCountingHook(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A client that has never sent a command: its first command dials a
	// connection whose handshake (HELLO, CLIENT SETINFO...) runs through the
	// same hooks and must not be counted.
	fresh := redistest.StartServer(t).Client()
	h := &redistest.CountingHook{}
	fresh.AddHook(h)
	if err := fresh.Get(ctx, "nokey").Err(); err != redis.Nil {
		t.Fatalf("get: %v; want redis.Nil", err)
	}
	if got := h.Count(); got != 1 {
		t.Errorf("count after first GET = %d (%v); want 1 (handshake must not count)", got, h.Commands())
	}

	h.Reset()
	if h.Count() != 0 || len(h.Commands()) != 0 {
		t.Fatal("Reset did not reset")
	}
	_, err := fresh.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "k", "1", time.Minute)
		p.Get(ctx, "k")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fresh.Del(ctx, "k")
	if got, want := h.Count(), int64(2); got != want {
		t.Errorf("count = %d (%v); want %d", got, h.Commands(), want)
	}
	if got := strings.Join(h.Commands(), ","); got != "pipeline[set get],del" {
		t.Errorf("commands = %q", got)
	}
}

func TestStartClusterServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := redistest.StartClusterServer(t)
	rdb := s.Client()
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("Client() = %T, want *redis.ClusterClient", rdb)
	}
	// Same hash tag: one slot, multi-key commands allowed.
	if err := rdb.MSet(ctx, "{u}:a", "1", "{u}:b", "2").Err(); err != nil {
		t.Fatalf("mset within one hash tag: %v", err)
	}
	// Talking to the node directly (no client-side slot checks), different
	// slots must be rejected like in a real cluster.
	node := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer node.Close()
	if err := node.MSet(ctx, "a", "1", "b", "2").Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("mset across slots: err = %v, want CROSSSLOT", err)
	}

	s.Stop()
	s.Start()
	if err := rdb.Set(ctx, "{u}:c", "3", time.Minute).Err(); err != nil {
		t.Fatalf("set after restart: %v", err)
	}
}

// TestStartMultiMasterCluster: three masters own even slot ranges in order,
// and the others keep serving their slots when one is stopped.
func TestStartMultiMasterCluster(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srvs := redistest.StartMultiMasterCluster(t, 3)
	rdb := srvs[0].Client()
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("Client() = %T, want *redis.ClusterClient", rdb)
	}
	// {a}, {b}, {c} hash to slots 15495, 3300 and 7365: the last, first and
	// second third.
	owners := map[string]int{"{a}": 2, "{b}": 0, "{c}": 1}
	for key, i := range owners {
		if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
		node := redis.NewClient(&redis.Options{Addr: srvs[i].Addr})
		defer node.Close()
		if n, err := node.Exists(ctx, key).Result(); err != nil || n != 1 {
			t.Errorf("%s not on server %d (exists=%d, err=%v)", key, i, n, err)
		}
	}
	srvs[2].Stop()
	for key, i := range owners {
		if i == 2 {
			continue
		}
		if err := rdb.Set(ctx, key, "w", time.Minute).Err(); err != nil {
			t.Errorf("set %s with another master down: %v", key, err)
		}
	}
}

// TestStartPersistentServerKeepsData: a persistent server killed and
// started again still has what it acknowledged, TTLs included.
func TestStartPersistentServerKeepsData(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := redistest.StartPersistentServer(t)
	rdb := s.Client()
	if err := rdb.Set(ctx, "k", "v", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("ping succeeded after Stop")
	}
	s.Start()
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("after a kill and restart: k = %q, %v; want v", v, err)
	}
	if ttl := rdb.TTL(ctx, "k").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL after restart = %v", ttl)
	}
}
