package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Topologies with replicas for failover tests: a Redis Cluster whose masters
// each have a replica, and a primary with a replica watched by three
// Sentinels. Every node is a Server (a private redis-server on loopback,
// without persistence) that a test may Stop (SIGKILL) to cause a failover.

// replicationArgs are the command-line options every node of these
// topologies shares: no persistence, and a diskless full sync that starts
// at once, so a replica is in sync within milliseconds of starting.
func replicationArgs(dir string) []string {
	return []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir,
		"--loglevel", "warning", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}
}

// ReplicatedCluster is a Redis Cluster of masters with one replica each.
type ReplicatedCluster struct {
	// Nodes are all servers; which is a master changes with failovers
	// (Masters, MasterFor).
	Nodes []*Server
	t     testing.TB
}

// StartReplicatedCluster starts a cluster of masters masters and as many
// replicas (redis-cli --cluster create --cluster-replicas 1), with
// cluster-node-timeout nodeTimeout: a master that stops answering is
// failed and its replica promoted about nodeTimeout to 2×nodeTimeout later.
// It returns once every slot is served and every replica is in sync.
func StartReplicatedCluster(t testing.TB, masters int, nodeTimeout time.Duration) *ReplicatedCluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redistest: redis-cli not found in PATH (%v); it comes with redis-server (apt-get install redis-server)", err)
	}
	c := &ReplicatedCluster{t: t}
	timeout := strconv.FormatInt(nodeTimeout.Milliseconds(), 10)
	for range 2 * masters {
		c.Nodes = append(c.Nodes, startWith(t, true, func(dir string) []string {
			return append(replicationArgs(dir), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", timeout)
		}))
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 6*startTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.WaitHealthy(ctx, len(c.Nodes)); err != nil {
		t.Fatalf("redistest: replicated cluster not ready: %v", err)
	}
	return c
}

// URL is the cluster's address list as putokaz's REDIS_URL takes it
// (store.Connect): redis://h1:p1,h2:p2,...
func (c *ReplicatedCluster) URL() string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return "redis://" + strings.Join(addrs, ",")
}

// up reports whether a node's process is running.
func (s *Server) up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// WaitHealthy waits until every running node sees the cluster ok with all
// slots served by running masters, knows want nodes (dead ones included: a
// failed master stays known) and every running replica's link to its
// master is up. After a master was stopped, it returns once its replica
// has taken over.
func (c *ReplicatedCluster) WaitHealthy(ctx context.Context, want int) error {
	for _, n := range c.Nodes {
		if !n.up() {
			continue
		}
		rdb := redis.NewClient(faultOptions(n.Addr))
		err := poll(ctx, func() (bool, string) {
			info, err := rdb.ClusterInfo(ctx).Result()
			if err != nil {
				return false, err.Error()
			}
			if !containsAll(info, []string{"cluster_state:ok", "cluster_slots_ok:16384",
				"cluster_known_nodes:" + strconv.Itoa(want)}) {
				return false, info
			}
			slots, err := rdb.ClusterSlots(ctx).Result()
			if err != nil {
				return false, err.Error()
			}
			for _, s := range slots {
				if len(s.Nodes) == 0 || !c.running(s.Nodes[0].Addr) {
					return false, fmt.Sprintf("slots %d-%d served by a stopped master", s.Start, s.End)
				}
			}
			repl, err := rdb.Info(ctx, "replication").Result()
			if err != nil {
				return false, err.Error()
			}
			if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
				return false, repl
			}
			return true, ""
		})
		_ = rdb.Close()
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Addr, err)
		}
	}
	return nil
}

func (c *ReplicatedCluster) running(addr string) bool {
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n.up()
		}
	}
	return false
}

// Masters returns the running nodes that are masters now.
func (c *ReplicatedCluster) Masters(ctx context.Context) []*Server {
	var out []*Server
	for _, n := range c.Nodes {
		if !n.up() {
			continue
		}
		rdb := redis.NewClient(faultOptions(n.Addr))
		role, err := rdb.Do(ctx, "ROLE").Slice()
		_ = rdb.Close()
		if err == nil && len(role) > 0 && role[0] == "master" {
			out = append(out, n)
		}
	}
	return out
}

// MasterFor returns the master that serves key now (as a running node
// sees the slot map).
func (c *ReplicatedCluster) MasterFor(ctx context.Context, key string) (*Server, error) {
	for _, n := range c.Nodes {
		if !n.up() {
			continue
		}
		rdb := redis.NewClient(faultOptions(n.Addr))
		slot, err := rdb.ClusterKeySlot(ctx, key).Result()
		var slots []redis.ClusterSlot
		if err == nil {
			slots, err = rdb.ClusterSlots(ctx).Result()
		}
		_ = rdb.Close()
		if err != nil {
			continue
		}
		for _, s := range slots {
			if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
				for _, m := range c.Nodes {
					if m.Addr == s.Nodes[0].Addr {
						return m, nil
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("no running node knows the master of %q", key)
}

// Sentinel is a primary with one replica, watched by three Sentinels
// (quorum 2) under the master name Name.
type Sentinel struct {
	Name             string
	Primary, Replica *Server
	Sentinels        []*Server
}

// StartSentinel starts the primary, its replica and three Sentinels with
// down-after-milliseconds downAfter, and returns once the Sentinels know
// the replica and one another and agree they can fail the primary over
// (SENTINEL CKQUORUM).
func StartSentinel(t testing.TB, downAfter time.Duration) *Sentinel {
	t.Helper()
	s := &Sentinel{Name: "putokaz"}
	s.Primary = startWith(t, false, replicationArgs)
	_, pport, _ := net.SplitHostPort(s.Primary.Addr)
	s.Replica = startWith(t, false, func(dir string) []string {
		return append(replicationArgs(dir), "--replicaof", "127.0.0.1", pport)
	})
	conf := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]s 2\n"+
		"sentinel down-after-milliseconds %[1]s %[3]d\n"+
		"sentinel failover-timeout %[1]s %[4]d\n"+
		"sentinel parallel-syncs %[1]s 1\n", s.Name, pport, downAfter.Milliseconds(), (6 * downAfter).Milliseconds())
	for range 3 {
		s.Sentinels = append(s.Sentinels, startWith(t, false, func(dir string) []string {
			path := filepath.Join(dir, "sentinel.conf")
			// A Sentinel rewrites its file as it learns; a restart on the
			// same port starts from what it knew.
			if _, err := os.Stat(path); err != nil {
				if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
					t.Errorf("redistest: write sentinel.conf: %v", err)
				}
			}
			return []string{path, "--sentinel", "--bind", "127.0.0.1", "--daemonize", "no", "--dir", dir,
				"--loglevel", "warning"}
		}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*startTimeout)
	defer cancel()
	for _, sn := range s.Sentinels {
		rdb := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr, DialTimeout: time.Second, ReadTimeout: time.Second})
		err := poll(ctx, func() (bool, string) {
			replicas, err := rdb.Replicas(ctx, s.Name).Result()
			if err != nil || len(replicas) == 0 {
				return false, fmt.Sprint("replicas: ", replicas, err)
			}
			others, err := rdb.Sentinels(ctx, s.Name).Result()
			if err != nil || len(others) < 2 {
				return false, fmt.Sprint("other sentinels: ", len(others), err)
			}
			if err := rdb.CkQuorum(ctx, s.Name).Err(); err != nil {
				return false, err.Error()
			}
			return true, ""
		})
		_ = rdb.Close()
		if err != nil {
			t.Fatalf("redistest: sentinel %s not ready: %v", sn.Addr, err)
		}
	}
	return s
}

// URL is the address of the Sentinels as putokaz's REDIS_URL takes it
// (store.Connect): redis+sentinel://s1,s2,s3/<name>.
func (s *Sentinel) URL() string {
	addrs := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		addrs[i] = n.Addr
	}
	return "redis+sentinel://" + strings.Join(addrs, ",") + "/" + s.Name
}

// MasterAddr asks the first Sentinel that answers for the current primary.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var last error
	for _, sn := range s.Sentinels {
		rdb := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr, DialTimeout: time.Second, ReadTimeout: time.Second})
		hp, err := rdb.GetMasterAddrByName(ctx, s.Name).Result()
		_ = rdb.Close()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1]), nil
		}
		last = err
	}
	return "", fmt.Errorf("no sentinel named the primary: %v", last)
}

// poll calls check every 20 ms until it reports true or ctx ends; the error
// then quotes check's last explanation.
func poll(ctx context.Context, check func() (bool, string)) error {
	for {
		ok, why := check()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last state: %s", ctx.Err(), why)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
