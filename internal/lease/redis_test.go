package lease_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"putokaz/internal/lease"
	"putokaz/internal/testkit/redistest"
)

func TestAcquireRenewRelease(t *testing.T) {
	rdb, k := redistest.New(t)
	ctx := t.Context()
	key := k.Referral().Lease("outbox")
	a, b := lease.NewToken(), lease.NewToken()
	if len(a) != 32 || a == b {
		t.Fatalf("tokens %q %q: want two different 32-character tokens", a, b)
	}
	if ok, err := lease.Acquire(ctx, rdb, key, a, time.Minute); !ok || err != nil {
		t.Fatalf("first acquire = %v, %v; want true", ok, err)
	}
	if ok, err := lease.Acquire(ctx, rdb, key, b, time.Minute); ok || err != nil {
		t.Fatalf("acquire of a held lease = %v, %v; want false", ok, err)
	}
	// Renewing extends the holder's lease.
	if err := rdb.PExpire(ctx, key, time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := lease.Acquire(ctx, rdb, key, a, time.Minute); !ok || err != nil {
		t.Fatalf("renew = %v, %v; want true", ok, err)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl < 50*time.Second {
		t.Errorf("TTL after renew = %v, want about a minute", ttl)
	}
	// Only the holder releases.
	if ok, err := lease.Release(ctx, rdb, key, b); ok || err != nil {
		t.Fatalf("release by another = %v, %v; want false", ok, err)
	}
	if got := rdb.Get(ctx, key).Val(); got != a {
		t.Fatalf("lease after a foreign release = %q, want %q", got, a)
	}
	if ok, err := lease.Release(ctx, rdb, key, a); !ok || err != nil {
		t.Fatalf("release = %v, %v; want true", ok, err)
	}
	if n := rdb.Exists(ctx, key).Val(); n != 0 {
		t.Fatalf("lease still exists after release")
	}
	// A lease that is gone is taken again by whoever asks.
	if ok, err := lease.Acquire(ctx, rdb, key, b, 20*time.Millisecond); !ok || err != nil {
		t.Fatalf("acquire after release = %v, %v; want true", ok, err)
	}
	time.Sleep(60 * time.Millisecond)
	if ok, err := lease.Acquire(ctx, rdb, key, a, time.Minute); !ok || err != nil {
		t.Fatalf("acquire of an expired lease = %v, %v; want true", ok, err)
	}
}

func TestAcquireUnlessGuard(t *testing.T) {
	rdb, k := redistest.New(t)
	ctx := t.Context()
	key, done := k.ChatLease("tg:7"), k.ChatDone("tg:7")
	a := lease.NewToken()
	if err := rdb.SAdd(ctx, done, "41").Err(); err != nil {
		t.Fatal(err)
	}
	// Gone, and the guarded work is done: not taken again.
	if ok, err := lease.AcquireUnless(ctx, rdb, key, a, time.Minute, done, "41"); ok || err != nil {
		t.Fatalf("acquire guarded by a done member = %v, %v; want false", ok, err)
	}
	if n := rdb.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("the guarded lease was taken")
	}
	// Gone, the work not done: taken.
	if ok, err := lease.AcquireUnless(ctx, rdb, key, a, time.Minute, done, "42"); !ok || err != nil {
		t.Fatalf("acquire guarded by another member = %v, %v; want true", ok, err)
	}
	// Held: renewed even though the member is done (the guard is only for
	// a lease that is gone).
	if ok, err := lease.AcquireUnless(ctx, rdb, key, a, time.Minute, done, "41"); !ok || err != nil {
		t.Fatalf("renew of a held lease = %v, %v; want true", ok, err)
	}
	// No member: no guard.
	if err := rdb.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := lease.AcquireUnless(ctx, rdb, key, a, time.Minute, done, ""); !ok || err != nil {
		t.Fatalf("acquire without a member = %v, %v; want true", ok, err)
	}
}

func TestTakeOver(t *testing.T) {
	rdb, k := redistest.New(t)
	ctx := t.Context()
	key := k.ChatLease("tg:8")
	a, b, c := lease.NewToken(), lease.NewToken(), lease.NewToken()
	if ok, err := lease.TakeOver(ctx, rdb, key, a, b, time.Minute); ok || err != nil {
		t.Fatalf("take over of no lease = %v, %v; want false", ok, err)
	}
	if _, err := lease.Acquire(ctx, rdb, key, a, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, err := lease.TakeOver(ctx, rdb, key, c, b, time.Minute); ok || err != nil {
		t.Fatalf("take over naming the wrong holder = %v, %v; want false", ok, err)
	}
	if ok, err := lease.TakeOver(ctx, rdb, key, a, b, time.Minute); !ok || err != nil {
		t.Fatalf("take over = %v, %v; want true", ok, err)
	}
	if got := rdb.Get(ctx, key).Val(); got != b {
		t.Fatalf("holder after take over = %q, want %q", got, b)
	}
	// The old holder can neither renew nor release it now.
	if ok, _ := lease.Acquire(ctx, rdb, key, a, time.Minute); ok {
		t.Error("the old holder renewed a lease taken over")
	}
	if ok, _ := lease.Release(ctx, rdb, key, a); ok {
		t.Error("the old holder released a lease taken over")
	}
}

func TestWait(t *testing.T) {
	rdb, k := redistest.New(t)
	ctx := t.Context()
	key := k.ChatLease("tg:9")
	other := lease.NewToken()
	held := time.Now() // the other's lease ends 150 ms after this at the earliest
	if _, err := lease.Acquire(ctx, rdb, key, other, 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Held by another for 150 ms: a wait of 40 ms gives up…
	if _, err := lease.Wait(ctx, rdb, key, lease.NewToken(), time.Minute, 40*time.Millisecond); err == nil ||
		!strings.Contains(err.Error(), "held by another") {
		t.Fatalf("short wait = %v, want it to give up", err)
	}
	// …a longer one gets it once the other's expires.
	me := lease.NewToken()
	// Release works after the caller's context ended.
	cctx, cancel := context.WithCancel(ctx)
	release, err := lease.Wait(cctx, rdb, key, me, time.Minute, 2*time.Second)
	cancel()
	if err != nil {
		t.Fatalf("wait = %v", err)
	}
	// Measured from the other's acquisition, not from this wait's start: on a
	// loaded machine the short wait above may use up most of the 150 ms.
	if d := time.Since(held); d < 140*time.Millisecond {
		t.Errorf("got a lease %v after another took it for 150 ms", d)
	}
	if got := rdb.Get(ctx, key).Val(); got != me {
		t.Fatalf("holder = %q, want ours", got)
	}
	release()
	if n := rdb.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("lease still held after release")
	}
}
