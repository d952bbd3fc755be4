package loadtest_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"putokaz/internal/loadtest"
	"putokaz/internal/testkit/redistest"
)

// A small spike against our transport in process: everyone is answered,
// nothing is re-sent, emergency answers go in their lane; with the fake Bot
// API's flood control on, the bot meets 429s and still answers everyone,
// near the ideal sender's bound.
func TestSpikeInProcess(t *testing.T) {
	t.Parallel()
	rdb, k := redistest.New(t)
	for _, rate := range []float64{0, 15} {
		o := loadtest.SpikeOptions{People: 40, Window: 2 * time.Second, Updates: 2, Gap: 500 * time.Millisecond,
			EmergencyShare: 0.3, APIRate: rate, Timeout: 30 * time.Second, Seed: 7}
		res, err := loadtest.Spike(t.Context(), inProcessOurs(t, rdb, k), o)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		res.WriteText(&out)
		t.Logf("API rate %v:\n%s", rate, out.String())
		if res.Answered != 40 || res.Unanswered != 0 || res.Messages != 80 {
			t.Errorf("answered %d of 40, %d of %d messages unanswered", res.Answered, res.Unanswered, res.Messages)
		}
		if res.Webhook["200"] != 80 || len(res.Webhook) != 1 {
			t.Errorf("webhook answers %v", res.Webhook)
		}
		if res.EmergencyN == 0 || res.Lanes[`lane_sends_total{lane="emergency"}`] == 0 {
			t.Errorf("%d emergency messages, lanes %v", res.EmergencyN, res.Lanes)
		}
		f := res.FirstAnswer
		if !(f.P50 > 0 && f.P50 <= f.P95 && f.P95 <= f.Max) || res.KendallTau < 0.5 {
			t.Errorf("first answers %+v, tau %.3f", f, res.KendallTau)
		}
		if rate == 0 && (res.Bound != nil || res.API429 != 0) {
			t.Errorf("no API limit, yet bound %v and %d 429s", res.Bound, res.API429)
		}
		if rate > 0 {
			if res.API429 == 0 || res.Bound == nil || res.BoundRatio <= 0 {
				t.Errorf("API limit %v: %d 429s, bound %v (ratio %.2f)", rate, res.API429, res.Bound, res.BoundRatio)
			}
			if !strings.Contains(out.String(), "ideal sender") {
				t.Error("the report does not show the bound")
			}
		}
		if res.RSSMaxMiB != 0 {
			t.Error("RSS of an in-process target")
		}
	}
}
