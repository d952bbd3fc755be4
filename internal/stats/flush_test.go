package stats

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"putokaz/internal/content"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/promtest"
	"putokaz/internal/testkit/redistest"
)

// A flush that fails keeps its counts for the next one, which writes each
// count exactly once.
func TestFailedFlushIsRetried(t *testing.T) {
	good, k := redistest.New(t)
	// A port nothing listens on: every command fails at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	bad := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer bad.Close()

	day := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	st, err := New(Options{Content: content.NewHolder(contenttest.Load(t)), Registerer: reg,
		Redis: bad, Keys: k, Interval: time.Hour, Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	st.Referral("svc", OutcomeDelivered)
	st.Referral("svc", OutcomeDelivered)
	st.Referral("svc", OutcomeFailed)

	ctx := context.Background()
	if err := st.Flush(ctx); err == nil {
		t.Fatal("flush to a closed port succeeded")
	}
	if flushErrors := promtest.Value(reg, MetricFlushErrors, nil); flushErrors != 1 {
		t.Errorf("%s = %v, want 1", MetricFlushErrors, flushErrors)
	}
	st.Referral("svc", OutcomeDelivered) // more counts while Redis is away
	st.mu.Lock()
	kept := st.pending[k.StatsDay(day)]
	if kept["ref:svc:delivered"] != 3 || kept["ref:svc:failed"] != 1 {
		t.Errorf("kept after the failure: %v", kept)
	}
	st.mu.Unlock()

	st.opt.Redis = good // Redis is back
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := good.HGetAll(ctx, k.StatsDay(day)).Val()
	if got["ref:svc:delivered"] != "3" || got["ref:svc:failed"] != "1" || len(got) != 2 {
		t.Errorf("written: %v", got)
	}
	close(st.stop) // the loop was started with the bad client
	<-st.done
}
