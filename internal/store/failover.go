package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterReloadInterval bounds how stale a cluster client's slot map can get
// without errors (go-redis's default is 60 s).
const clusterReloadInterval = 5 * time.Second

// newClusterClient is the cluster client for a redis://h1,h2 URL, made to
// follow a failover at once. go-redis reloads its slot map only on a MOVED
// or ASK answer, or every ClusterStateReloadInterval: when a master dies,
// its slots' commands fail with "connection refused" (or time out), which
// triggers nothing, so the client kept sending them to the dead master for
// up to 60 s after a replica had taken over (measured in
// internal/faultsuite). Here a network error or CLUSTERDOWN asks for a
// reload (go-redis runs it in the background, at most every 200 ms, from
// any node that answers), and the map is reloaded every 5 s regardless.
func newClusterClient(opts *redis.UniversalOptions) *redis.ClusterClient {
	co := opts.Cluster()
	co.ClusterStateReloadInterval = clusterReloadInterval
	c := redis.NewClusterClient(co)
	c.AddHook(followFailover{c})
	return c
}

// followFailover reloads the cluster's slot map after an error that may
// mean the topology changed.
type followFailover struct{ c *redis.ClusterClient }

func (h followFailover) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h followFailover) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if topologyError(err) {
			h.c.ReloadState(ctx)
		}
		return err
	}
}

func (h followFailover) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		reload := topologyError(err)
		for _, cmd := range cmds {
			reload = reload || topologyError(cmd.Err())
		}
		if reload {
			h.c.ReloadState(ctx)
		}
		return err
	}
}

// topologyError reports whether err may come from a node that is gone or
// a cluster that is reconfiguring (not from a command's own failure).
func topologyError(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "CLUSTERDOWN") || strings.HasPrefix(msg, "TRYAGAIN") ||
		strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset")
}
