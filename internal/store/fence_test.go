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
