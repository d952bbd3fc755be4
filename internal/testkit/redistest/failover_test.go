package redistest

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestReplicatedClusterPromotesAReplica: three masters with a replica each;
// a key's master is killed and its replica takes the slot over, with the
// key.
func TestReplicatedClusterPromotesAReplica(t *testing.T) {
	c := StartReplicatedCluster(t, 3, time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if got := len(c.Masters(ctx)); got != 3 {
		t.Fatalf("masters = %d, want 3", got)
	}
	s := c.Nodes[0]
	rdb := s.Client()
	if err := rdb.Set(ctx, "{p}:k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	m, err := c.MasterFor(ctx, "{p}:k")
	if err != nil {
		t.Fatal(err)
	}
	// WAIT on the key's master itself: through the cluster client it goes
	// to any node and may return before the replica has the key.
	node := redis.NewClient(faultOptions(m.Addr))
	defer node.Close()
	if n, err := node.Do(ctx, "WAIT", 1, 1000).Int(); err != nil || n < 1 {
		t.Fatalf("WAIT on the master = %d, %v; want the replica to have the key", n, err)
	}
	m.Stop()
	killed := time.Now()
	if err := c.WaitHealthy(ctx, 6); err != nil {
		t.Fatal(err)
	}
	n, err := c.MasterFor(ctx, "{p}:k")
	if err != nil || n == m {
		t.Fatalf("master after the kill = %v, %v", n, err)
	}
	if got := len(c.Masters(ctx)); got != 3 {
		t.Errorf("masters after failover = %d, want 3", got)
	}
	var live *Server
	for _, node := range c.Nodes {
		if node != m {
			live = node
			break
		}
	}
	if v, err := live.Client().Get(ctx, "{p}:k").Result(); err != nil || v != "v" {
		t.Errorf("key after failover = %q, %v", v, err)
	}
	t.Logf("measured: replica promoted and cluster ok %v after the kill", time.Since(killed).Round(time.Millisecond))
}

// TestSentinelPromotesTheReplica: the primary is killed; the Sentinels
// agree and name the replica as the new primary.
func TestSentinelPromotesTheReplica(t *testing.T) {
	s := StartSentinel(t, time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if addr, err := s.MasterAddr(ctx); err != nil || addr != s.Primary.Addr {
		t.Fatalf("primary = %q, %v; want %s", addr, err, s.Primary.Addr)
	}
	s.Primary.Stop()
	killed := time.Now()
	err := poll(ctx, func() (bool, string) {
		addr, err := s.MasterAddr(ctx)
		return err == nil && addr == s.Replica.Addr, addr
	})
	if err != nil {
		t.Fatalf("replica not promoted: %v", err)
	}
	t.Logf("measured: sentinels named the replica primary %v after the kill", time.Since(killed).Round(time.Millisecond))
}
