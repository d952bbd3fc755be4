package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"putokaz/internal/testkit/redistest"
)

func TestRedisSessions(t *testing.T) {
	rdb, k := redistest.New(t)
	ctx := context.Background()
	s := NewRedisSessions(rdb, k)
	id := newToken()
	now := time.Now()
	in := Session{User: alice, Name: "Alice", CSRF: newToken(), Groups: []int64{groupA}, Created: now, Checked: now,
		Expires: now.Add(time.Hour)}
	if err := s.Put(ctx, id, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, id)
	if err != nil || got == nil || got.User != alice || got.CSRF != in.CSRF || len(got.Groups) != 1 {
		t.Fatalf("get: %+v %v", got, err)
	}
	// Only the cookie's hash is in Redis, with the session's lifetime.
	keys, _ := rdb.Keys(ctx, k.PrefixPattern()).Result()
	if len(keys) != 1 || strings.Contains(keys[0], id) || keys[0] != k.Console().Session(idHash(id)) {
		t.Fatalf("keys %v", keys)
	}
	if ttl := rdb.PTTL(ctx, keys[0]).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("ttl %v", ttl)
	}
	if got, _ := s.Get(ctx, newToken()); got != nil {
		t.Fatal("an unknown cookie has a session")
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, id); got != nil {
		t.Fatal("deleted session still there")
	}
	first, err := s.UseLogin(ctx, "abc", time.Hour)
	second, err2 := s.UseLogin(ctx, "abc", time.Hour)
	if err != nil || err2 != nil || !first || second {
		t.Fatalf("use login: %v %v %v %v", first, second, err, err2)
	}
	if ttl := rdb.PTTL(ctx, k.Console().LoginUsed("abc")).Val(); ttl <= 0 {
		t.Fatalf("login mark without TTL: %v", ttl)
	}
}

func TestRedisAudit(t *testing.T) {
	rdb, k := redistest.New(t)
	ctx := context.Background()
	a := NewRedisAudit(rdb, k, 30*24*time.Hour)
	now := time.Now().UTC().Truncate(time.Millisecond)
	old := AuditEntry{At: now.Add(-40 * 24 * time.Hour), Who: bob, What: auditView, Case: "PK-2AAA", Group: groupA}
	// An entry older than the retention (written with its own time) is
	// trimmed by the next write.
	if err := a.Write(ctx, old); err != nil {
		t.Fatal(err)
	}
	for i, e := range []AuditEntry{
		{At: now.Add(-time.Minute), Who: alice, What: auditSignIn},
		{At: now, Who: alice, What: auditClaim, Case: "PK-2BBB", Group: groupA},
	} {
		if err := a.Write(ctx, e); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	got, err := a.Recent(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].What != auditClaim || got[0].Case != "PK-2BBB" || got[0].Who != alice ||
		got[0].Group != groupA || !got[0].At.Equal(now) || got[1].What != auditSignIn {
		t.Fatalf("recent: %+v", got)
	}
	if ttl := rdb.PTTL(ctx, k.Console().Audit()).Val(); ttl <= 29*24*time.Hour {
		t.Fatalf("audit stream ttl %v", ttl)
	}
	if n := rdb.XLen(ctx, k.Console().Audit()).Val(); n > 3 {
		t.Fatalf("stream length %d", n)
	}
}

// Two replicas share one count: what one allowed, the other cannot allow
// again, and no client address is kept in the clear.
func TestRedisSignInLimitIsShared(t *testing.T) {
	rdb, k := redistest.New(t)
	ctx := context.Background()
	a, b := NewRedisSessions(rdb, k), NewRedisSessions(rdb, k)
	now := time.UnixMilli(1_800_000_000_000)
	const client = "203.0.113.5"
	allow := func(s *RedisSessions, at time.Time) bool {
		t.Helper()
		ok, err := s.AllowSignIn(ctx, client, at, time.Minute, 3)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !allow(a, now) || !allow(b, now) || !allow(a, now) {
		t.Fatal("the first three attempts, on either replica, are allowed")
	}
	if allow(b, now) || allow(a, now.Add(59*time.Second)) {
		t.Fatal("a fourth attempt within the minute is allowed")
	}
	if !allow(b, now.Add(time.Minute)) {
		t.Fatal("one attempt back after a minute")
	}
	if allow(a, now.Add(time.Minute)) {
		t.Fatal("only one attempt came back")
	}
	if ok, _ := a.AllowSignIn(ctx, "198.51.100.7", now, time.Minute, 3); !ok {
		t.Fatal("another address is held back")
	}
	keys, _ := rdb.Keys(ctx, k.PrefixPattern()).Result()
	for _, key := range keys {
		if strings.Contains(key, client) || strings.Contains(key, "198.51.100.7") {
			t.Fatalf("an address in a key: %s", key)
		}
	}
	if ttl := rdb.PTTL(ctx, k.Console().SignIn(idHash(client))).Val(); ttl <= 0 || ttl > 4*time.Minute {
		t.Fatalf("limit key TTL %v", ttl)
	}
}
