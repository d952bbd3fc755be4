package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/testkit/redistest"
)

// TestClusterClientFollowsFailover: the master that owns a key is killed;
// its replica takes over after cluster-node-timeout (1 s). The client
// Connect gives writes the key again within a second or so of the
// promotion, instead of sending it to the dead master until its 60 s
// slot-map reload.
func TestClusterClientFollowsFailover(t *testing.T) {
	cluster := redistest.StartReplicatedCluster(t, 3, time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rdb, err := Connect(ctx, cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	const key = "{failover}:k"
	if err := rdb.Set(ctx, key, "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	m, err := cluster.MasterFor(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	m.Stop()
	killed := time.Now()
	if err := cluster.WaitHealthy(ctx, len(cluster.Nodes)); err != nil {
		t.Fatal(err)
	}
	promoted := time.Now()
	for {
		err := rdb.Set(ctx, key, "2", time.Minute).Err()
		if err == nil {
			break
		}
		if time.Since(promoted) > 5*time.Second {
			t.Fatalf("writes still fail %v after the replica took over: %v", time.Since(promoted), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("measured: writes to the killed master's slot resumed %v after the kill, %v after the promotion",
		time.Since(killed).Round(time.Millisecond), time.Since(promoted).Round(time.Millisecond))
}

func TestTopologyError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for err, want := range map[error]bool{
		nil:                               false,
		redis.Nil:                         false,
		context.Canceled:                  false,
		errors.New("WRONGTYPE Operation"): false,
		refused:                           true,
		fmt.Errorf("begin: %w", io.EOF):   true,
		errors.New("CLUSTERDOWN The cluster is down"):                         true,
		errors.New("TRYAGAIN Multiple keys request during rehashing of slot"): true,
	} {
		if got := topologyError(err); got != want {
			t.Errorf("topologyError(%v) = %v, want %v", err, got, want)
		}
	}
}
