package faultsuite

import (
	"bytes"
	"testing"
	"time"

	"putokaz/bot"
	"putokaz/internal/loadtest"
	"putokaz/internal/testkit/loadtesttest"
	"putokaz/internal/testkit/redistest"
	"putokaz/internal/testkit/testlog"
)

// TestCrisisSpike is a bounded crisis spike (the load tool's, `putokaz
// loadtest --spike`, shrunk to fit CI): 300 people write for the first time
// within 10 s (5 % of them an emergency word), then once more, to our
// transport with its production limits (the zero bot.Limits: 1 message a
// second per chat, 30/s overall for bulk sends) and the test content. The
// driver plays Telegram (at most max_connections requests in flight, one
// chat's updates in sequence, re-sent after a non-2xx answer). Once with no
// limit at the fake Bot API, once with Telegram's flood control played by
// it: 429 with retry_after 1 beyond 50 messages a second (the spike asks
// for about 70).
//
// It fails unless everyone is answered, every update is accepted at its
// first delivery (no 503 storm, and so no re-sent update that could be
// answered twice), first answers come in the order people wrote, the first
// answer's p95 is within a bound that the old design fails (the issue's
// 2 s and 1.2× are measured at full size by `putokaz loadtest --spike`),
// and inside the bot emergency answers wait no longer than the others at
// the sender's gates.
func TestCrisisSpike(t *testing.T) {
	rdb, k := redistest.New(t)
	for _, c := range []struct {
		name string
		rate float64
	}{{"no API limit", 0}, {"API limit 50 msg/s", 50}} {
		t.Run(c.name, func(t *testing.T) {
			logs := &testlog.Buffer{}
			o := loadtest.SpikeOptions{People: 300, Window: 10 * time.Second, Updates: 2, Gap: 2 * time.Second,
				EmergencyShare: 0.05, APIRate: c.rate, Timeout: time.Minute, Seed: 16}
			res, err := loadtest.Spike(t.Context(), loadtesttest.Ours(t, rdb, k, bot.Limits{}, logs), o)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			res.WriteText(&out)
			t.Logf("measured (crisis spike, %s, production limits):\n%s", c.name, out.String())
			if res.Answered != o.People || res.Unanswered != 0 {
				t.Errorf("%d of %d people answered, %d messages unanswered", res.Answered, o.People, res.Unanswered)
			}
			if res.Webhook["200"] != int64(res.Messages) || len(res.Webhook) != 1 || res.Resent != 0 {
				t.Errorf("webhook answers %v for %d messages, %d re-sent: want each accepted at its first delivery",
					res.Webhook, res.Messages, res.Resent)
			}
			if res.KendallTau < 0.85 || res.Inversions1s > 0.05 {
				t.Errorf("first answers out of arrival order: Kendall tau %.3f, %.2f %% of pairs inverted by more than 1 s",
					res.KendallTau, res.Inversions1s*100)
			}
			if c.rate == 0 && res.FirstAnswer.P95 > maxFirstAnswerP95ms {
				t.Errorf("first answer p95 %.0f ms without an API limit, want under %d ms", res.FirstAnswer.P95, maxFirstAnswerP95ms)
			}
			if c.rate > 0 && (res.API429 == 0 || res.BoundRatio > maxBoundRatio) {
				t.Errorf("with the API limit: %d 429s, first answer p95 %.2f× the ideal sender's, want at most %g×",
					res.API429, res.BoundRatio, maxBoundRatio)
			}
			if res.EmergencyN == 0 || res.Lanes[`lane_sends_total{lane="emergency"}`] == 0 {
				t.Errorf("%d emergency messages, %v sends in the emergency lane", res.EmergencyN,
					res.Lanes[`lane_sends_total{lane="emergency"}`])
			}
			// Inside the bot an emergency answer waits for nobody but
			// Telegram's retry_after, which holds every lane alike: at the
			// sender's gates its average wait may not exceed other
			// replies' (a quarter second of slack for scheduling).
			if e, r := laneWait(res, "emergency"), laneWait(res, "reply"); e > r+0.25 {
				t.Errorf("emergency answers waited %.3f s a send at the sender's gates, other replies %.3f s: "+
					"emergencies waited behind others", e, r)
			}
			if t.Failed() {
				t.Logf("the bot's log, last lines:\n%s", tail(logs.String(), 40))
			}
		})
	}
}

// maxBoundRatio: the target is 1.2× the ideal sender's p95, which
// the full spike meets (1.02, README "Crisis spike"); this one is 20 times
// smaller and runs under the race detector on a shared CI machine, where
// 1.08–1.33 was measured, so it fails only beyond 2× (the old design,
// every reply behind a 30/s cap, is far beyond that).
const maxBoundRatio = 2.0

// maxFirstAnswerP95ms: the target is 2 s, which the full spike
// meets by far (38 ms, README "Crisis spike"); here it runs under the race
// detector beside other packages' tests, where 1.7 s was seen once. 5 s
// still fails the old design (every reply held to 30/s overall: about 30 s
// for this spike) without failing CI on a busy machine.
const maxFirstAnswerP95ms = 5000

// laneWait is the average time a send of the lane waited at the sender's
// gates (our limits and Telegram's retry_after), in seconds.
func laneWait(res *loadtest.SpikeResult, lane string) float64 {
	q := `{lane="` + lane + `"}`
	if n := res.Lanes["lane_sends_total"+q]; n > 0 {
		return res.Lanes["lane_wait_seconds_sum"+q] / n
	}
	return 0
}
