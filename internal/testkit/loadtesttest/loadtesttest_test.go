package loadtesttest_test

import (
	"testing"
	"time"

	"putokaz/bot"
	"putokaz/internal/loadtest"
	"putokaz/internal/testkit/loadtesttest"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/testkit/testlog"
)

// TestOursAnswersWithDefaultLimits: the target serves people through the
// real transport with the production limits, and its log is JSON.
func TestOursAnswersWithDefaultLimits(t *testing.T) {
	rdb, k := redistest.New(t)
	logs := &testlog.Buffer{}
	res, err := loadtest.Spike(t.Context(), loadtesttest.Ours(t, rdb, k, bot.Limits{}, logs),
		loadtest.SpikeOptions{People: 5, Window: 500 * time.Millisecond, Updates: 1, Timeout: 20 * time.Second, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answered != 5 || res.Unanswered != 0 || res.Webhook["200"] != 5 {
		t.Errorf("answered %d of 5 people, %d messages unanswered, webhook answers %v", res.Answered, res.Unanswered, res.Webhook)
	}
	if out := logs.String(); out == "" || out[0] != '{' {
		t.Errorf("the bot's log is not JSON: %.200q", out)
	}
}
