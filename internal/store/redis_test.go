package store

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/testkit/redistest"
)

func newRedisStore(t *testing.T, ttl time.Duration) (*Redis, redis.UniversalClient, keys.Keys) {
	t.Helper()
	rdb, k := redistest.New(t)
	s, err := NewRedis(rdb, k, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return s, rdb, k
}

func TestRedisContract(t *testing.T) {
	t.Parallel()
	s, _, _ := newRedisStore(t, time.Hour)
	testContract(t, s)
}

func TestNewRedisBadArgs(t *testing.T) {
	rdb, k := redistest.New(t)
	for _, ttl := range []time.Duration{0, -time.Second, time.Microsecond} {
		if _, err := NewRedis(rdb, k, ttl); !errors.Is(err, ErrBadTTL) {
			t.Errorf("NewRedis(ttl=%v) err = %v, want ErrBadTTL", ttl, err)
		}
	}
	if _, err := NewRedis(nil, k, time.Hour); err == nil {
		t.Error("NewRedis(nil client) succeeded")
	}
}

func TestRedisSaveSetsAndRefreshesTTL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ttl = time.Hour
	s, rdb, k := newRedisStore(t, ttl)
	key := k.Session("tg:1")

	if err := s.Save(ctx, "tg:1", []byte("a")); err != nil {
		t.Fatal(err)
	}
	got, err := rdb.TTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got <= 0 || got > ttl {
		t.Fatalf("TTL after Save = %v, want in (0, %v]", got, ttl)
	}

	// Pretend time passed, then Save again: the TTL must be back to ~ttl.
	if err := rdb.Expire(ctx, key, 10*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "tg:1", []byte("b")); err != nil {
		t.Fatal(err)
	}
	got, err = rdb.TTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got <= ttl-time.Minute || got > ttl {
		t.Fatalf("TTL after second Save = %v, want ~%v (refreshed)", got, ttl)
	}

	// Sub-second TTLs go out as PX and still apply.
	ms, err := NewRedis(rdb, k, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := ms.Save(ctx, "tg:2", []byte("c")); err != nil {
		t.Fatal(err)
	}
	pttl, err := rdb.PTTL(ctx, k.Session("tg:2")).Result()
	if err != nil || pttl <= 0 || pttl > 1500*time.Millisecond {
		t.Fatalf("PTTL = %v, %v; want in (0, 1.5s]", pttl, err)
	}
}

// TestRedisDeleteAllUserKeys: /delete must erase every key of the person
// (not just the session) and nothing of anybody else.
func TestRedisDeleteAllUserKeys(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, rdb, k := newRedisStore(t, time.Hour)
	testDeleteAllUserKeys(ctx, t, s, rdb, k)
}

// TestRedisDeleteCluster runs the same check through a ClusterClient against
// a one-node cluster: Delete takes the cluster path (a SCAN of the slot's
// master), and the node rejects a multi-key UNLINK unless all of a person's
// keys share a slot.
func TestRedisDeleteCluster(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := redistest.StartClusterServer(t)
	rdb := srv.Client()
	k := keys.New("putokaz:")
	s, err := NewRedis(rdb, k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	testDeleteAllUserKeys(ctx, t, s, rdb, k)
}

// TestRedisDeleteClusterMasterDown: /delete of a person works while a master
// that does not own their slot is down (it used to fail for everyone), and
// fails, rather than pretending, for a person whose own master is down.
func TestRedisDeleteClusterMasterDown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srvs := redistest.StartMultiMasterCluster(t, 3)
	rdb := srvs[0].Client()
	k := keys.New("putokaz:")
	s, err := NewRedis(rdb, k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A person on the first master and one on the last (the servers own
	// even slot ranges in order).
	var onFirst, onLast string
	for i := 1; onFirst == "" || onLast == ""; i++ {
		u := "tg:" + strconv.Itoa(i)
		slot, err := rdb.ClusterKeySlot(ctx, k.Session(u)).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch int(slot) * len(srvs) / 16384 {
		case 0:
			onFirst = cmp.Or(onFirst, u)
		case len(srvs) - 1:
			onLast = cmp.Or(onLast, u)
		}
	}
	other := k.Prefix() + "u:{" + onFirst + "}:other"
	for _, u := range []string{onFirst, onLast} {
		if err := s.Save(ctx, u, []byte("state")); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Set(ctx, other, "v", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}

	srvs[len(srvs)-1].Stop()
	if err := s.Delete(ctx, onFirst); err != nil {
		t.Fatalf("Delete with another master down: %v", err)
	}
	if n, err := rdb.Exists(ctx, k.Session(onFirst), other).Result(); err != nil || n != 0 {
		t.Errorf("%d keys survived Delete (err=%v)", n, err)
	}
	if err := s.Delete(ctx, onLast); err == nil {
		t.Error("Delete of a person whose master is down succeeded")
	}
}

func testDeleteAllUserKeys(ctx context.Context, t *testing.T, s *Redis, rdb redis.UniversalClient, k keys.Keys) {
	t.Helper()
	const user, other = "tg:1", "tg:12"
	mine := []string{
		k.Session(user),
		// Keys that future methods will build (lease, referrals...).
		k.Prefix() + "u:{" + user + "}:other",
		k.Prefix() + "u:{" + user + "}:lease",
	}
	theirs := []string{
		k.Session(other),
		k.Prefix() + "u:{" + other + "}:other",
		k.Prefix() + "u:{tg:*}:other",
		k.Prefix() + "global:" + user,
	}
	for _, key := range append(append([]string{}, mine...), theirs...) {
		if err := rdb.Set(ctx, key, "v", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, user); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, key := range mine {
		if n, err := rdb.Exists(ctx, key).Result(); err != nil || n != 0 {
			t.Errorf("key %q survived Delete (exists=%d, err=%v)", key, n, err)
		}
	}
	for _, key := range theirs {
		if n, err := rdb.Exists(ctx, key).Result(); err != nil || n != 1 {
			t.Errorf("key %q of someone else was deleted (exists=%d, err=%v)", key, n, err)
		}
	}
}

// TestRedisRoundTrips pins the hot path: handling one message is Load + Save
// = exactly 2 round trips.
func TestRedisRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, rdb, _ := newRedisStore(t, time.Hour)
	h := &redistest.CountingHook{}
	rdb.AddHook(h)

	for i, user := range []string{"tg:new", "tg:new"} { // first without, then with a session
		h.Reset()
		blob, err := s.Load(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Save(ctx, user, append(blob, 'x')); err != nil {
			t.Fatal(err)
		}
		if got := h.Count(); got != 2 {
			t.Errorf("message %d: round trips = %d (%v), want 2", i, got, h.Commands())
		}
		if got := strings.Join(h.Commands(), ","); got != "get,set" {
			t.Errorf("message %d: commands = %s, want get,set", i, got)
		}
	}
}

func TestRedisErrorsWrapped(t *testing.T) {
	t.Parallel()
	s, _, _ := newRedisStore(t, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, loadErr := s.Load(ctx, "tg:4242")
	for _, tc := range []struct {
		prefix string
		err    error
	}{
		{"load session: ", loadErr},
		{"save session: ", s.Save(ctx, "tg:4242", []byte("x"))},
		{"delete session: ", s.Delete(ctx, "tg:4242")},
	} {
		if !errors.Is(tc.err, context.Canceled) || !strings.HasPrefix(tc.err.Error(), tc.prefix) {
			t.Errorf("err = %v, want %q... wrapping context.Canceled", tc.err, tc.prefix)
			continue
		}
		// Errors never carry the user ID (personal data).
		if strings.Contains(tc.err.Error(), "4242") {
			t.Errorf("error mentions the user: %v", tc.err)
		}
	}
}

// TestRedisServerGoesAway: while Redis is down calls fail fast with an error
// (no hang, no panic); once it is back the store works again without a new
// client.
func TestRedisServerGoesAway(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	s, err := NewRedis(rdb, keys.New("putokaz:"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.Save(ctx, "tg:1", []byte("x")); err != nil {
			return err
		}
		_, err := s.Load(ctx, "tg:1")
		return err
	}
	if err := call(); err != nil {
		t.Fatalf("with server up: %v", err)
	}

	srv.Stop()
	start := time.Now()
	err = call()
	if err == nil {
		t.Fatal("Save/Load succeeded with the server down")
	}
	if !strings.HasPrefix(err.Error(), "save session: ") {
		t.Errorf("err = %v, want wrapped save error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failure took %v; want fast", d)
	}

	srv.Start()
	if err := call(); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
