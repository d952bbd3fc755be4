package loadtest

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// DeleteKeys deletes every key matching pattern (SCAN MATCH, then UNLINK in
// pipelines; on a cluster, on every master). It never flushes a database:
// the Redis may be shared.
func DeleteKeys(ctx context.Context, rdb redis.UniversalClient, pattern string) (int, error) {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		var total int
		var mu = make(chan struct{}, 1)
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			n, err := deleteOnNode(ctx, node, pattern)
			mu <- struct{}{}
			total += n
			<-mu
			return err
		})
		return total, err
	}
	return deleteOnNode(ctx, rdb, pattern)
}

func deleteOnNode(ctx context.Context, c redis.Cmdable, pattern string) (int, error) {
	var cursor uint64
	n := 0
	for {
		ks, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return n, fmt.Errorf("scan %q: %w", pattern, err)
		}
		if len(ks) > 0 {
			// One key per command: keys of different people are in different
			// cluster slots.
			p := c.Pipeline()
			for _, k := range ks {
				p.Unlink(ctx, k)
			}
			if _, err := p.Exec(ctx); err != nil {
				return n, fmt.Errorf("unlink: %w", err)
			}
			n += len(ks)
		}
		if next == 0 {
			return n, nil
		}
		cursor = next
	}
}
