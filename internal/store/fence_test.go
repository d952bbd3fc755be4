package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"putokaz/internal/redistest"
)

type fenceKey struct{}

// TestFencedSave: a save under a lease that another handler has taken over
// is refused, so stale state cannot overwrite newer state.
func TestFencedSave(t *testing.T) {
	rdb, k := redistest.New(t)
	r, err := NewRedis(rdb, k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	lease := k.Prefix() + "u:{tg:1}:tg:lease"
	r.Fence = func(ctx context.Context) (string, string, bool) {
		tok, ok := ctx.Value(fenceKey{}).(string)
		return lease, tok, ok
	}
	ctx := context.Background()
	if err := rdb.Set(ctx, lease, "tok-A", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	mine := context.WithValue(ctx, fenceKey{}, "tok-A")
	if err := r.Save(mine, "tg:1", []byte("one")); err != nil {
		t.Fatalf("save under our lease: %v", err)
	}
	if ttl := rdb.PTTL(ctx, k.Session("tg:1")).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("fenced save set ttl %v", ttl)
	}
	rdb.Set(ctx, lease, "tok-B", time.Minute) // another replica took over
	if err := r.Save(mine, "tg:1", []byte("stale")); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale save: err = %v, want ErrFenced", err)
	}
	if got, _ := r.Load(ctx, "tg:1"); string(got) != "one" {
		t.Fatalf("stale save overwrote the session: %q", got)
	}
	if err := r.Save(ctx, "tg:1", []byte("plain")); err != nil { // no lease in ctx: a plain SET
		t.Fatal(err)
	}
}

// fakeTx stands in for bot.SessionTx.
type fakeTx struct {
	blob   []byte
	staged bool
	ttl    time.Duration
}

func (f *fakeTx) Load() []byte { return f.blob }
func (f *fakeTx) Stage(b []byte, ttl time.Duration) {
	f.blob, f.staged, f.ttl = append([]byte(nil), b...), true, ttl
}
func (f *fakeTx) Unstage() { f.blob, f.staged = nil, false }

// With a transaction in the context, the person's session goes through it
// (no round trip of its own); other people's sessions do not.
func TestSessionTx(t *testing.T) {
	rdb, k := redistest.New(t)
	r, err := NewRedis(rdb, k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tx := &fakeTx{blob: []byte("prefetched")}
	r.Tx = func(ctx context.Context, key string) (SessionTx, bool) {
		return tx, ctx.Value(fenceKey{}) != nil && key == k.Session("tg:1")
	}
	ctx := context.Background()
	in := context.WithValue(ctx, fenceKey{}, "update")
	if got, err := r.Load(in, "tg:1"); err != nil || string(got) != "prefetched" {
		t.Fatalf("Load = %q, %v; want the transaction's session", got, err)
	}
	if err := r.Save(in, "tg:1", []byte("next")); err != nil || !tx.staged || string(tx.blob) != "next" || tx.ttl != time.Hour {
		t.Fatalf("Save did not stage: %+v, %v", tx, err)
	}
	if n := rdb.Exists(ctx, k.Session("tg:1")).Val(); n != 0 {
		t.Fatal("Save wrote directly instead of staging")
	}
	if err := r.Save(in, "tg:2", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Load(ctx, "tg:2"); string(got) != "other" {
		t.Fatalf("another person's session = %q, want a direct write", got)
	}
	if err := r.Delete(in, "tg:1"); err != nil || tx.staged {
		t.Fatalf("Delete left the staged write: %+v, %v", tx, err)
	}
}
