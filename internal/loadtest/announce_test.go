package loadtest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"putokaz/internal/announce"
	"putokaz/internal/keys"
	"putokaz/internal/loadtest"
	"putokaz/internal/subscribe"
	"putokaz/internal/testkit/redistest"
)

// testControl subscribes people and drives the queue of urgent updates as
// `putokaz loadtest --announce` does, on the test's Redis prefix.
type testControl struct {
	subs *subscribe.Redis
	q    *announce.Queue
	id   string
}

func (c *testControl) Subscribe(ctx context.Context, user, lang string) error {
	return c.subs.Add(ctx, user, "shelter", lang)
}

func (c *testControl) Queue(ctx context.Context) error {
	texts := map[string]string{"en": "Shelter closed", "sr-Cyrl": "Склониште затворено", "sr-Latn": "Sklonište zatvoreno",
		"ar": "الملجأ مغلق", "fa": "پناهگاه بسته است"}
	if _, err := c.q.Add(ctx, c.id, []string{"shelter"}, time.Now().Add(time.Hour), texts, "Ana"); err != nil {
		return err
	}
	if _, err := c.q.Pause(ctx, c.id); err != nil {
		return err
	}
	_, err := c.q.Approve(ctx, c.id, "Marko")
	return err
}

func (c *testControl) Pause(ctx context.Context) error {
	_, err := c.q.Pause(ctx, c.id)
	return err
}

func (c *testControl) Resume(ctx context.Context) error {
	_, err := c.q.Resume(ctx, c.id)
	return err
}

func (c *testControl) Progress(ctx context.Context) (loadtest.AnnounceProgress, error) {
	st, err := c.q.Status(ctx, c.id)
	return loadtest.AnnounceProgress{State: string(st.State), Done: st.State.Terminal(), Total: st.Total, Sent: st.Sent,
		Blocked: st.Blocked, Failed: st.Failed, Unknown: st.Unknown}, err
}

// serveChild is a real `putokaz serve` (built for the test) with Telegram's
// limits and announce.rate 30, on the test's Redis prefix.
func serveChild(t *testing.T, rdb redis.UniversalClient, k keys.Keys) loadtest.Target {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "putokaz")
	if out, err := exec.Command("go", "build", "-o", bin, "putokaz").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = redistest.DefaultURL
	}
	return loadtest.Child{Name: "putokaz serve", Path: bin, Args: []string{"serve"}, Sync: true,
		Env: []string{"REDIS_URL=" + url, "REDIS_KEY_PREFIX=" + k.Prefix(), "LOG_LEVEL=warn", "CONTENT_DIR=",
			"TELEGRAM_RATE_LIMITS=telegram", "ANNOUNCE_RATE=30", "ANNOUNCE_APPROVALS=2"}}.Target()
}

// A mass send while people converse, small and short: every subscriber
// gets the update once (counted at the fake Bot API), nobody in
// conversation loses a reply, no emergency answer waits behind the send
// (the sender's lane metrics: none waited 25 ms, less than one token of the
// 30/s limit), the send keeps its rate when it runs alone, and the bot's
// memory does not grow with it.
func TestAnnounceScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs putokaz serve")
	}
	rdb, k := redistest.New(t)
	target := serveChild(t, rdb, k)
	ctl := &testControl{subs: subscribe.NewRedis(rdb, k, subscribe.DefaultTTL, time.Now), q: announce.NewQueue(rdb, k, 2),
		id: "loadtest-scenario"}
	const n = 150
	var log bytes.Buffer
	o := loadtest.Options{Users: 20, Duration: 8 * time.Second, Think: 3 * time.Second, Emergency: 0.4, Seed: 11,
		Timeout: 20 * time.Second, Log: &log}
	res, err := loadtest.RunAnnounce(t.Context(), target, o, loadtest.AnnounceOptions{Subscribers: n,
		Langs: []string{"en", "sr-Cyrl", "sr-Latn", "ar", "fa"}, Rounds: 2, Rate: 30, Control: ctl,
		DoneTimeout: time.Minute})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var out bytes.Buffer
	res.WriteText(&out)
	t.Logf("\n%s", out.String())

	if res.Reached != n || res.Duplicated != 0 || res.Missing != 0 || res.TimedOut {
		t.Errorf("reached %d of %d, %d duplicated, %d missing (timed out: %v)", res.Reached, n, res.Duplicated,
			res.Missing, res.TimedOut)
	}
	if w := res.Worker; !w.Done || w.State != "done" || w.Sent != n || w.Unknown != 0 || w.Failed != 0 {
		t.Errorf("the queue says %+v; want done, %d sent, none unknown", w, n)
	}
	q, s := res.Quiet, res.Sending
	for name, ph := range map[string]loadtest.Phase{"paused": q, "running": s} {
		if ph.Steps < 10 || ph.Lost != 0 || ph.Duplicated != 0 || ph.Undelivered != 0 {
			t.Errorf("send %s: %d steps, %d lost, %d duplicated, %d undelivered", name, ph.Steps, ph.Lost,
				ph.Duplicated, ph.Undelivered)
		}
	}
	if q.UpdatesSent > 6 { // at most those on their way at a pause (InFlight at 30/s)
		t.Errorf("%d updates sent while the send was paused; want at most the 6 on their way", q.UpdatesSent)
	}
	if s.UpdatesSent == 0 || s.Lanes["bulk"].Sends == 0 {
		t.Errorf("the send did not run beside the conversations: %d updates, bulk lane %+v", s.UpdatesSent, s.Lanes["bulk"])
	}
	// Emergency answers: some in the send's slices, none held 25 ms.
	if e := s.Lanes["emergency"]; e.Sends == 0 || s.EmergencySteps == 0 || e.WaitsOver25ms != 0 {
		t.Errorf("emergency lane while sending: %+v, %d emergency steps; want some, none waiting 25 ms", e, s.EmergencySteps)
	}
	// Replies wait only for their own chat's pacing, as without the send
	// (generous: the users' choices differ between the slices).
	if r := s.Lanes["reply"].WaitsOver25ms; r > 2*q.Lanes["reply"].WaitsOver25ms+3 {
		t.Errorf("replies waiting 25 ms: %v with the send running, %v paused", r, q.Lanes["reply"].WaitsOver25ms)
	}
	if res.AloneSent >= 40 && (res.AloneRate < 0.6*30 || res.AloneRate > 1.15*30) {
		t.Errorf("alone the send ran at %.1f/s, configured 30/s", res.AloneRate)
	}
	if res.RSSFirstMiB <= 0 || res.RSSLastMiB > 1.5*res.RSSFirstMiB {
		t.Errorf("RSS %.1f MiB at the start, %.1f at the end", res.RSSFirstMiB, res.RSSLastMiB)
	}
}
