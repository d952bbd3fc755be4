// Package unlink deletes Redis keys by pattern, for /delete, the load tool's
// clean-up and the tests' own: one implementation that knows a cluster's
// SCAN is per node. It never flushes: the Redis may be shared.
package unlink

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// scanCount is the COUNT hint for SCAN.
const scanCount = 500

// Matching UNLINKs every key matching the SCAN MATCH pattern — on a cluster
// or ring on every master or shard — and returns how many it unlinked.
// UNLINK removes keys from the keyspace at once and frees memory in the
// background.
func Matching(ctx context.Context, rdb redis.UniversalClient, pattern string) (int, error) {
	var n atomic.Int64
	each := func(ctx context.Context, node *redis.Client) error { return onNode(ctx, node, pattern, &n) }
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, each)
	case *redis.Ring:
		err = c.ForEachShard(ctx, each)
	default:
		err = onNode(ctx, rdb, pattern, &n)
	}
	return int(n.Load()), err
}

// onNode UNLINKs the keys matching pattern on one node, adding their number
// to n. A page's keys may lie in different slots (a prefix pattern spans
// people), so each is its own UNLINK, all in one pipeline.
func onNode(ctx context.Context, c redis.Cmdable, pattern string, n *atomic.Int64) error {
	var cursor uint64
	for {
		ks, next, err := c.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return fmt.Errorf("scan %q: %w", pattern, err)
		}
		if len(ks) > 0 {
			p := c.Pipeline()
			for _, k := range ks {
				p.Unlink(ctx, k)
			}
			if _, err := p.Exec(ctx); err != nil {
				return fmt.Errorf("unlink: %w", err)
			}
			n.Add(int64(len(ks)))
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}
