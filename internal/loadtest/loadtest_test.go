package loadtest_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/bot"
	"putokaz/internal/keys"
	"putokaz/internal/loadtest"
	"putokaz/internal/testkit/loadtesttest"
	"putokaz/internal/testkit/redistest"
)

// inProcessOurs is our transport on the test content, in this process,
// with our own rate limits lifted (this is not a test of them).
func inProcessOurs(t *testing.T, rdb redis.UniversalClient, k keys.Keys) loadtest.Target {
	return loadtesttest.Ours(t, rdb, k,
		bot.Limits{PrivatePerSecond: 1000, PrivateBurst: 1000, GlobalPerSecond: 1000, GlobalBurst: 1000}, nil)
}

func checkSane(t *testing.T, res *loadtest.Result, wantDuplicates bool) {
	t.Helper()
	t.Logf("%s: %d steps (%.0f/s), %d messages, p50 %.2fms p99 %.2fms max %.2fms, lost %d, duplicated %d, errors %v, actions %v",
		res.Name, res.Steps, res.StepsPerSecond, res.Replies, res.Latency.P50, res.Latency.P99, res.Latency.Max,
		res.Lost, res.Duplicated, res.Errors, res.Actions)
	if res.Steps < 10 || res.StepsPerSecond <= 0 || res.Replies < res.Steps {
		t.Errorf("too little happened: %d steps, %d messages", res.Steps, res.Replies)
	}
	if res.Lost != 0 || res.Late != 0 || res.Undelivered != 0 {
		t.Errorf("lost %d, late %d, undelivered %d; want none", res.Lost, res.Late, res.Undelivered)
	}
	if got := res.Duplicated > 0; got != wantDuplicates {
		t.Errorf("duplicated = %d, want duplicates: %v", res.Duplicated, wantDuplicates)
	}
	if n := res.ErrorCount(); n != 0 {
		t.Errorf("errors: %v", res.Errors)
	}
	l := res.Latency
	if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max && l.Max < 5000) {
		t.Errorf("latencies not sane: %+v", l)
	}
	if res.FirstReply.P50 <= 0 || res.FirstReply.P50 > l.P50 {
		t.Errorf("first-message latency %+v against whole-reply latency %+v", res.FirstReply, l)
	}
	if res.APICalls["sendMessage"] < res.Steps || res.APICalls["setWebhook"] != 1 {
		t.Errorf("Bot API calls %v for %d steps", res.APICalls, res.Steps)
	}
	if res.Seconds < 1.5 || res.Seconds > 10 {
		t.Errorf("window %.1fs, want about 2s", res.Seconds)
	}
}

func TestOursInProcess(t *testing.T) {
	t.Parallel()
	rdb, k := redistest.New(t)
	opts := loadtest.Options{Users: 3, Duration: 2 * time.Second, Timeout: 5 * time.Second, Seed: 1, Redis: rdb,
		Redeliver: 0.2} // re-sent updates must be deduplicated: no duplicates
	res, err := loadtest.Run(t.Context(), inProcessOurs(t, rdb, k), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, res, false)
	if !res.Sync || res.Redeliveries == 0 {
		t.Errorf("sync %v, %d re-deliveries: the run did not test what it should", res.Sync, res.Redeliveries)
	}
	if res.Actions["start"] < 3 || res.Actions["button"] == 0 {
		t.Errorf("users did not start and press buttons: %v", res.Actions)
	}
}

func TestBaselineInProcess(t *testing.T) {
	t.Parallel()
	rdb, k := redistest.New(t)
	opts := loadtest.Options{Users: 3, Duration: 2 * time.Second, Timeout: 5 * time.Second, Seed: 2}
	res, err := loadtest.Run(t.Context(), loadtest.InProcessBaseline(rdb, k), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, res, false)
	if res.Sync {
		t.Error("the library's webhook handler answers before handling; Sync must be false")
	}
}

// The duplicate detector must see what a transport without dedupe does with
// a re-sent update: answer it again.
func TestBaselineDuplicatesAreSeen(t *testing.T) {
	t.Parallel()
	rdb, k := redistest.New(t)
	opts := loadtest.Options{Users: 2, Duration: 2 * time.Second, Timeout: 5 * time.Second, Seed: 3, Redeliver: 0.5}
	res, err := loadtest.Run(t.Context(), loadtest.InProcessBaseline(rdb, k), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, res, true)
}

func TestRunAllAlternates(t *testing.T) {
	t.Parallel()
	rdb, k := redistest.New(t)
	opts := loadtest.Options{Users: 2, Duration: 2 * time.Second, Rounds: 2, Timeout: 5 * time.Second, Seed: 4}
	a, b := loadtest.InProcessBaseline(rdb, k), loadtest.InProcessBaseline(rdb, k)
	a.Name, b.Name = "a", "b"
	res, err := loadtest.RunAll(t.Context(), []loadtest.Target{a, b}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Name != "a" || res[1].Name != "b" {
		t.Fatalf("results %v", res)
	}
	for _, r := range res {
		checkSane(t, r, false)
	}
}
