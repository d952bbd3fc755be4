package unlink_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
	"putokaz/internal/redistest"
	"putokaz/internal/unlink"
)

// TestMatching: a prefix pattern spans people, so on a cluster the
// keys of one SCAN page lie in different slots; all of them go, counted.
func TestMatching(t *testing.T) {
	t.Parallel()
	single, k := redistest.New(t)
	for name, c := range map[string]struct {
		rdb redis.UniversalClient
		k   keys.Keys
	}{
		"redis":         {single, k},
		"redis cluster": {redistest.StartClusterServer(t).Client(), keys.New("t:")},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			for _, u := range []string{"tg:1", "tg:2", "tg:3"} {
				if err := c.rdb.Set(ctx, c.k.Session(u), "x", time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
			}
			n, err := unlink.Matching(ctx, c.rdb, c.k.PrefixPattern())
			if err != nil || n != 3 {
				t.Fatalf("deleted %d, %v; want 3", n, err)
			}
			if left, _ := c.rdb.Exists(ctx, c.k.Session("tg:1"), c.k.Session("tg:2"), c.k.Session("tg:3")).Result(); left != 0 {
				t.Fatalf("%d keys left behind", left)
			}
		})
	}
}
