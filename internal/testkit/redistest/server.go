package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"putokaz/internal/testkit/testlog"
)

// startTimeout bounds how long StartServer/Start wait for PING to answer.
const startTimeout = 5 * time.Second

// Server is a private redis-server process for fault tests: unlike the shared
// server behind New, a test may kill and restart it. It runs without
// persistence, so a restart loses all data (like a crashed cache node).
// Its methods must be called from the test goroutine (they call t.Fatalf).
type Server struct {
	// Addr is host:port of the server; it stays the same across Stop/Start.
	Addr string

	t       testing.TB
	bin     string
	dir     string
	cluster bool // one-node Redis Cluster, see StartClusterServer
	// args, when set, replaces the command line after --port <port>
	// (replicas, cluster nodes without slots, sentinels: failover.go).
	args func(dir string) []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}   // closed when cmd has exited
	out  *testlog.Buffer // redis-server's stdout+stderr, for failure messages
}

// StartServer starts a private redis-server on a free port and waits until it
// answers PING. The process is killed when the test ends. The test fails
// (never skips) if redis-server is not installed.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return startServer(t, false)
}

// StartClusterServer is StartServer for a one-node Redis Cluster that owns all
// 16384 slots. It enforces cluster rules (e.g. CROSSSLOT errors for
// multi-key commands spanning slots) like a real cluster, so tests can prove
// keys share a hash tag and exercise cluster-only code paths. Client returns
// a *redis.ClusterClient for it.
func StartClusterServer(t testing.TB) *Server {
	t.Helper()
	return startServer(t, true)
}

func startServer(t testing.TB, cluster bool) *Server {
	t.Helper()
	return startWith(t, cluster, nil)
}

func startWith(t testing.TB, cluster bool, args func(dir string) []string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: redis-server not found in PATH (%v); install Redis (e.g. apt-get install redis-server)", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), cluster: cluster, args: args}
	t.Cleanup(s.stop) // runs before TempDir's cleanup (LIFO)

	// The port is free when we probe it but could be taken before
	// redis-server binds it; try a few ports before giving up.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find free port: %v", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", port)
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("redistest: start redis-server: %v", lastErr)
	return nil
}

// Stop kills the server (SIGKILL: it simulates Redis going away, not a clean
// shutdown). Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	s.stop()
}

// Start starts the server again on the same port and waits for PING. Starting
// a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart redis-server on %s: %v", s.Addr, err)
	}
}

// Client returns a new client for the server with short timeouts, so calls
// against a stopped server fail fast. It is closed when the test ends.
func (s *Server) Client() redis.UniversalClient {
	var rdb redis.UniversalClient
	if s.cluster {
		o := faultOptions(s.Addr)
		rdb = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                 []string{o.Addr},
			DialTimeout:           o.DialTimeout,
			ReadTimeout:           o.ReadTimeout,
			WriteTimeout:          o.WriteTimeout,
			ContextTimeoutEnabled: o.ContextTimeoutEnabled,
			MaxRetries:            o.MaxRetries,
			DialerRetries:         o.DialerRetries,
		})
	} else {
		rdb = redis.NewClient(faultOptions(s.Addr))
	}
	s.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func faultOptions(addr string) *redis.Options {
	return &redis.Options{
		Addr:                  addr,
		DialTimeout:           500 * time.Millisecond,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		ContextTimeoutEnabled: true,
		// One retry lets the first call after a restart recover from a pooled
		// connection to the dead process; more would only slow failures down.
		MaxRetries:    1,
		DialerRetries: 1,
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	_, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("bad address %q: %w", s.Addr, err)
	}
	args := []string{
		"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--dir", s.dir, "--loglevel", "warning",
	}
	if s.cluster {
		// nodes.conf lives in the private dir, so slots survive a restart.
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	}
	if s.args != nil {
		args = s.args(s.dir)
		if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
			// A config file first (a sentinel's), then the port.
			args = append([]string{args[0], "--port", port}, args[1:]...)
		} else {
			args = append([]string{"--port", port}, args...)
		}
	}
	cmd := exec.Command(s.bin, args...)
	out := &testlog.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()

	err = waitReady(s.Addr, done)
	if err == nil && s.cluster && s.args == nil {
		err = claimAllSlots(s.Addr)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%w; redis-server output: %s", err, strings.TrimSpace(out.String()))
	}
	s.cmd, s.done, s.out = cmd, done, out
	return nil
}

func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill() // error only if it already exited
	<-s.done
	s.cmd, s.done = nil, nil
}

// waitReady polls PING until it answers, the process exits or startTimeout
// passes.
func waitReady(addr string, exited <-chan struct{}) error {
	opts := faultOptions(addr)
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		// Probe the port with a plain dial first: go-redis logs every failed
		// dial, which would clutter the test output while the server boots.
		var err error
		if c, derr := net.DialTimeout("tcp", addr, 250*time.Millisecond); derr != nil {
			err = derr
		} else {
			_ = c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
			err = rdb.Ping(ctx).Err()
			cancel()
			if err == nil {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("redis-server exited before answering PING")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PING answer within %v: %w", startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// claimAllSlots makes a fresh cluster node own every slot (a restarted node
// already does, from nodes.conf) and waits until the cluster state is ok.
func claimAllSlots(addr string) error {
	rdb := redis.NewClient(faultOptions(addr))
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		info, err := rdb.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("cluster info: %w", err)
		}
		if strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		if strings.Contains(info, "cluster_slots_assigned:0\r") {
			if err := rdb.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
				return fmt.Errorf("cluster addslotsrange: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster state not ok within %v: %s", startTimeout, info)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// StartPersistentServer is StartServer for a redis-server that keeps its
// data across Stop and Start: the append-only file on, written to disk
// before each command is answered (appendfsync always), so a SIGKILL loses
// nothing it acknowledged — as a production Redis with persistence on,
// and unlike StartServer's, which comes back empty.
func StartPersistentServer(t testing.TB) *Server {
	t.Helper()
	return startWith(t, false, func(dir string) []string {
		return []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always",
			"--daemonize", "no", "--dir", dir, "--loglevel", "warning"}
	})
}
