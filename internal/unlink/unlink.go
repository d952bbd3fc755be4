// Package unlink deletes Redis keys by pattern, for /delete, the load tool's
// clean-up and the tests' own: one implementation that knows a cluster's
// SCAN is per node. It never flushes: the Redis may be shared.
package unlink

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/keys"
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

// User UNLINKs every key of one person (keys.UserPattern) and returns how many
// it unlinked; /delete uses it. On a single Redis or behind Sentinel it is
// Matching. On a cluster it does not scan every master: all of a person's
// keys share one hash slot (the {user} tag), so it SCANs only the master
// that owns that slot. A person is then erased while some other master is
// down; only the outage of the person's own master (until a replica takes
// over) stops it.
//
// It never reports success for a scan of the wrong node: if the client's
// slot map is stale (after a failover or a resharding), the node refuses a
// keyed command, User fails and asks for a fresh map, and a retry scans the
// new owner. The check is repeated after the scan, so a slot that was moved
// during it, or is being moved (the node answers ASK for the erased key),
// fails too. Each page's keys go in one UNLINK (one slot, so it is legal)
// through the cluster client, which follows a MOVED.
func User(ctx context.Context, rdb redis.UniversalClient, k keys.Keys, user string) (int, error) {
	pattern := k.UserPattern(user)
	c, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return Matching(ctx, rdb, pattern)
	}
	// Any key of the person names the slot; the session key is one.
	slotKey := k.Session(user)
	node, err := c.MasterForKey(ctx, slotKey)
	if err != nil {
		return 0, fmt.Errorf("find the master of %q: %w", pattern, err)
	}
	// The client's slot map may be stale (a failover, a slot with no master:
	// then MasterForKey returns any node). A keyed command lets the node
	// itself confirm it serves the slot, before and after the scan;
	// otherwise it answers MOVED, ASK (the slot is moving) or CLUSTERDOWN,
	// and the erase fails instead of scanning the wrong node and reporting
	// nothing found.
	serves := func() error {
		if err := node.Exists(ctx, slotKey).Err(); err != nil {
			c.ReloadState(ctx) // so that a retry finds the new owner
			return fmt.Errorf("the master of %q (%s): %w", pattern, node.Options().Addr, err)
		}
		return nil
	}
	if err := serves(); err != nil {
		return 0, err
	}
	var n int
	var cursor uint64
	for {
		ks, next, err := node.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return n, fmt.Errorf("scan %q on %s: %w", pattern, node.Options().Addr, err)
		}
		if len(ks) > 0 {
			m, err := c.Unlink(ctx, ks...).Result()
			if err != nil {
				return n, fmt.Errorf("unlink: %w", err)
			}
			n += int(m)
		}
		if next == 0 {
			return n, serves()
		}
		cursor = next
	}
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
