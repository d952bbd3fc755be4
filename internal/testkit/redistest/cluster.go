package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartMultiMasterCluster starts a Redis Cluster of n masters (no replicas)
// on loopback, for tests that need keys on different nodes or one master
// down. The slots are split into n even ranges in order: the first server
// owns the lowest slots. Every server's Client is a *redis.ClusterClient for
// the whole cluster.
//
// The cluster runs with cluster-require-full-coverage no, so the masters
// that are up keep serving their slots after one is stopped, however long
// the test takes (with the default, the others refuse every command once
// the cluster declares the stopped one failed, after cluster-node-timeout).
func StartMultiMasterCluster(t testing.TB, n int) []*Server {
	t.Helper()
	if n < 2 {
		t.Fatalf("redistest: a multi-master cluster needs at least 2 masters, not %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*startTimeout)
	defer cancel()
	srvs := make([]*Server, n)
	nodes := make([]*redis.Client, n)
	for i := range srvs {
		// Each starts as a one-node cluster owning every slot.
		srvs[i] = StartClusterServer(t)
		nodes[i] = redis.NewClient(faultOptions(srvs[i].Addr))
		defer nodes[i].Close()
	}
	for i, node := range nodes {
		lo, hi := i*16384/n, (i+1)*16384/n-1
		do := func(args ...any) {
			t.Helper()
			if err := node.Do(ctx, args...).Err(); err != nil {
				t.Fatalf("redistest: %s: %v", fmt.Sprint(args...), err)
			}
		}
		if i > 0 {
			// Empty, so a hard reset is allowed: no slots, a new node ID.
			do("CLUSTER", "RESET", "HARD")
			do("CLUSTER", "ADDSLOTSRANGE", lo, hi)
		} else {
			do("CLUSTER", "DELSLOTSRANGE", hi+1, 16383)
		}
		do("CONFIG", "SET", "cluster-require-full-coverage", "no")
		// A master that rejoins (here: after having no peers) waits
		// min(node timeout, 5 s) before it serves; 2 s keeps the start short
		// and still tolerates a loaded test machine.
		do("CONFIG", "SET", "cluster-node-timeout", "2000")
	}
	for _, s := range srvs[1:] {
		host, port, _ := net.SplitHostPort(s.Addr)
		if err := nodes[0].ClusterMeet(ctx, host, port).Err(); err != nil {
			t.Fatalf("redistest: cluster meet %s: %v", s.Addr, err)
		}
	}
	// Ready when every node knows every other and sees all slots served.
	want := []string{"cluster_state:ok", "cluster_known_nodes:" + strconv.Itoa(n), "cluster_slots_ok:16384"}
	for i, node := range nodes {
		for {
			info, err := node.ClusterInfo(ctx).Result()
			if err == nil && containsAll(info, want) {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("redistest: cluster not formed within %v on %s: %v %s", 3*startTimeout, srvs[i].Addr, err, info)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return srvs
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub+"\r\n") {
			return false
		}
	}
	return true
}
